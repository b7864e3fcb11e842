"""Ordered updates to one record under faults: how fast the head of one record's queue moves.

Every update of one record waits for the one before it, so a failure's cost is paid by the whole queue: the
retry and its wait, a 429's `Retry-After`, a stalled connection's read timeout. The bridge's dispatcher (SQLite
store, durable claim/finish, the ServiceNow adapter) posts N work notes to one incident of the ServiceNow
emulator, which fails 20% of calls (500, 503, dropped connections, stalls) and rate-limits (429 with
`Retry-After`). Baseline, in the same run: the same N updates with no faults. The target is absolute (at least
10 updates/s under faults) with every update applied once and in order.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Result
from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.store import links
from bridge.store import outbox as ob
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

N = int(os.environ.get("BENCH_ONE_RECORD_N", "2000"))
#: the chaos run's faults: 20% of calls fail (500, 503, dropped, stalled) and 50 calls/s per user, then 429
FAULTS: dict[str, Any] = {"fault_rate": 0.2, "rate_limit": 50, "seed": 21}
#: the emulator answers in milliseconds (its slowest call here, a journal read of 2,000 entries, in under 0.1 s):
#: a read timeout that fits the target keeps a stalled call from holding the record's queue longer than needed
TIMEOUT = {"connect": 1.0, "read": 0.3}
TARGET = 10.0


def _config(tmp: Path, url: str) -> Path:
    target = {
        "kind": "servicenow",
        "instance_url": url,
        "auth": {"type": "basic", "username": "admin", "password": "admin"},
        "timeout": TIMEOUT,
        "requests_per_second": 1000,
        "burst": 100,
    }
    return write_config(
        tmp,
        {"store": {"url": f"sqlite:///{tmp / 'b.db'}"}, "log": {"level": "ERROR"}, "targets": {"sn": target}},
    )


def _updates(url: str, sys_id: str, n: int) -> float:
    """Deliver ``n`` ordered work notes to one incident; seconds from the first claim to the last outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(load_config(_config(Path(tmp), url)))
        store = runtime.store
        ops = [
            ob.NewOperation(
                route="bench",
                target_system="sn",
                target_key=f"incident:{sys_id}",
                action="work_note",
                payload={"table": "incident", "text": f"update {i:05d}"},
                idempotency_key=f"one-{sys_id}-{i}",
                link_system="partner",
                link_id="case-1",
            )
            for i in range(n)
        ]
        with store.begin() as conn:
            links.put_link(conn, store, ("partner", "case-1", "sn"), sys_id)
            ob.enqueue(conn, store, ops)
        started = time.perf_counter()
        assert runtime.dispatcher.drain(timeout=max(600, n)), "every update finished"
        elapsed = time.perf_counter() - started
        runtime.stop()
    return elapsed


def _run(faults: dict[str, Any] | None, n: int) -> tuple[float, list[str], dict[str, Any]]:
    with ServiceNowEmulator() as emu:
        incident = emu.state.insert("incident", {"short_description": "one busy record"})
        if faults:
            emu.set_faults(**faults)
        seconds = _updates(emu.url, incident["sys_id"], n)
        emu.set_faults(fault_rate=0.0, rate_limit=0)
        notes = [j["value"] for j in emu.state.journal(incident["sys_id"]) if j["element"] == "work_notes"]
        stats = emu.stats()
    return seconds, notes, stats


def run(n: int = N) -> list[Result]:
    logging.getLogger("bridge").setLevel(logging.ERROR)  # a retry's warning per fault is the point, not news
    clean, clean_notes, _ = _run(None, n)
    faulted, notes, stats = _run(FAULTS, n)
    expected = [f"update {i:05d}" for i in range(n)]
    faults = dict(stats.get("faults", {}))
    rate, baseline = n / faulted, n / clean
    ok = notes == expected and clean_notes == expected
    return [
        Result(
            name="one record, ordered, under faults",
            what=(
                f"{n} ordered work notes to one ServiceNow incident through the dispatcher (SQLite store, the "
                f"ServiceNow adapter, read timeout {TIMEOUT['read']} s), the emulator failing 20% of calls "
                f"(500, 503, dropped, stalled) and rate-limiting at {FAULTS['rate_limit']} calls/s (429 with "
                "Retry-After); baseline: the same updates with no faults, in the same run. Transient failures are "
                "retried in-process with short jittered waits (Retry-After exactly) before a lease goes back."
            ),
            figures={
                "under faults": f"{rate:.1f} updates/s",
                "faults injected": ", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none",
                "applied once, in order": str(ok),
            },
            baseline=f"no faults {baseline:.1f} updates/s",
            ratio=rate / baseline,
            target=f">= {TARGET:.0f} updates/s under faults, every update once and in order",
            met=rate >= TARGET and ok,
        )
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
