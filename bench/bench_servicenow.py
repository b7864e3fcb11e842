"""ServiceNow cost: API calls per synced change, and polling 100,000 changed records.

- Calls: an Azure alert through the bridge to the emulator; the emulator's own request counters say how many
  calls each change cost (create 1, update 1, no read before write, an idle poll 1).
- Poll: 100,000 changed incidents read by the bridge's poller into its durable inbox, in a process of its own
  so its peak RSS is the poller's alone. Baseline: a plain `requests` loop paging the same records with
  sysparm_offset and keeping nothing (what a one-off script does).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.report import Result, cpu_reference_ms
from tests.support.procs import free_port

ROOT = Path(__file__).resolve().parents[1]
N_POLL = 100_000
PAGE = int(os.environ.get("BENCH_POLL_PAGE", "3000"))

_EMULATOR = """
import sys, time
from bridge_emulators.servicenow import ServiceNowEmulator
emu = ServiceNowEmulator(port=int(sys.argv[1]))
emu.start()
rows = [{"short_description": f"changed {i}", "state": "2"} for i in range(int(sys.argv[2]))]
emu.state.bulk_insert("incident", rows, user="admin")
print("ready", flush=True)
time.sleep(3600)
"""

_POLLER = """
import json, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from bench.report import peak_rss_mb
from bridge.config import load_config
from bridge.runtime import build_runtime
rt = build_runtime(load_config(Path(sys.argv[1])))
poller = rt.scheduler.pollers[0]
t0 = time.perf_counter()
result = poller.poll_once()
elapsed = time.perf_counter() - t0
rt.stop()
print(json.dumps({"seen": result.seen, "new": result.new, "seconds": elapsed,
                  "rss_mb": peak_rss_mb()}))
"""


def _config(tmp: Path, sn_url: str) -> Path:
    import yaml

    data = {
        "data_dir": str(tmp / "data"),
        "log": {"level": "WARNING"},
        "targets": {
            "servicenow": {
                "kind": "servicenow",
                "instance_url": sn_url,
                "auth": {"type": "basic", "username": "admin", "password": "admin"},
                "requests_per_second": 1000,
                "burst": 100,
                "page_size": PAGE,
            },
            "sink": {"kind": "http", "base_url": "http://127.0.0.1:9"},
        },
        "routes": [
            {
                "name": "changes",
                "kind": "forward",
                "target": "sink",
                "enabled": False,
                "options": {
                    "poll": {
                        "source": "servicenow",
                        "table": "incident",
                        "page_size": PAGE,
                        "initial_lookback_seconds": 86400,
                    }
                },
            }
        ],
    }
    path = tmp / "bridge.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _baseline(url: str, total: int) -> float:
    session = requests.Session()
    session.auth = ("admin", "admin")
    t0 = time.perf_counter()
    offset, seen = 0, 0
    while True:
        page = session.get(
            f"{url}/api/now/table/incident",
            params={
                "sysparm_query": "ORDERBYsys_updated_on^ORDERBYsys_id",
                "sysparm_limit": 1000,
                "sysparm_offset": offset,
            },
            timeout=60,
        ).json()["result"]
        seen += len(page)
        offset += len(page)
        if len(page) < 1000:
            break
    assert seen == total, seen
    return time.perf_counter() - t0


def _keyset_reads(url: str, total: int) -> float:
    """The bridge's own reads of the same changes (keyset pages through its ServiceNow adapter), storing nothing:
    what the instance (here the emulator) costs for the queries a change feed must make."""
    from datetime import UTC, datetime, timedelta

    from bridge.adapters import build_adapter

    auth = {"type": "basic", "username": "admin", "password": "admin"}
    settings = {"instance_url": url, "auth": auth, "requests_per_second": 1000, "burst": 100, "page_size": PAGE}
    adapter = build_adapter("servicenow", "servicenow", settings)
    t0 = time.perf_counter()
    seen = sum(1 for _ in adapter.iter_changes("incident", datetime.now(UTC) - timedelta(days=1)))  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    adapter.close()
    assert seen == total, seen
    return elapsed


@contextmanager
def _emulator(total: int) -> Iterator[str]:
    """A fresh emulator process holding ``total`` changed incidents (fresh: it keeps query results between calls,
    and one measurement must not warm it for the next)."""
    port = free_port()
    emulator = subprocess.Popen([sys.executable, "-c", _EMULATOR, str(port), str(total)], stdout=subprocess.PIPE)
    try:
        assert emulator.stdout is not None and emulator.stdout.readline().strip() == b"ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        emulator.terminate()
        emulator.wait(10)


def poll_throughput(total: int = N_POLL) -> Result:
    cpu_ref = cpu_reference_ms()
    with _emulator(total) as url:
        base = _baseline(url, total)  # an offset query of its own: nothing the poll asks is cached by it
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, "-c", _POLLER, str(_config(Path(tmp), url))],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
        figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    with _emulator(total) as url:
        reads = _keyset_reads(url, total)
    rate = figures["seen"] / figures["seconds"]
    return Result(
        name="poll 100,000 changes",
        what=(
            f"{total} incidents changed; one poll by the bridge (keyset pages of {PAGE:,}, the next page read while "
            "the current one is stored, each page committed to the durable inbox before the watermark moves), in "
            "its own process. Baseline: a `requests` loop paging the same records by offset (pages of 1,000) and "
            "keeping nothing."
        ),
        figures={
            "bridge": f"{rate:.0f} changes/s",
            "stored": f"{figures['new']}/{total}",
            "peak RSS": f"{figures['rss_mb']:.0f} MB",
            "the same keyset reads, nothing stored": f"{total / reads:.0f} records/s",
            "CPU reference": f"{cpu_ref:.0f} ms",
        },
        baseline=f"offset loop {total / base:.0f} records/s",
        ratio=rate / (total / base),
        target=">= 0.5x the offset loop, peak RSS < 150 MB, every change stored",
        met=rate / (total / base) >= 0.5 and figures["rss_mb"] < 150 and figures["new"] == total,
        notes=[
            "The keyset-reads figure is the bridge's own reads of the same changes through its adapter, storing "
            "nothing. A change feed asks a new query for every page (offsets skip records that change while it "
            "reads); the emulator answers those as a real instance's database does, from an index on the ordering "
            "columns (bisected, not scanned and sorted), and an offset loop's pages from its cached result. Stored "
            "changes/s close to that figure means storing keeps up with reading.",
        ],
    )


def calls_per_change() -> Result:
    from bridge.config import load_config
    from bridge.runtime import build_runtime
    from bridge.store import inbox as ib
    from bridge_emulators.servicenow import ServiceNowEmulator

    fixture = json.loads((ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_text())
    resolved = json.loads(json.dumps(fixture))
    resolved["data"]["essentials"].update(monitorCondition="Resolved", resolvedDateTime="2019-03-22T13:55:24Z")
    counts: dict[str, int] = {}
    with ServiceNowEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        path = _config(Path(tmp), emu.url)
        import yaml

        data = yaml.safe_load(path.read_text())
        data["mappings_dir"] = str(ROOT / "config/mappings")
        data["routes"] = [
            {
                "name": "azure",
                "kind": "azure-alert",
                "target": "servicenow",
                "options": {"poll": {"source": "servicenow", "table": "incident", "overlap_seconds": 0}},
            }
        ]
        path.write_text(yaml.safe_dump(data))
        rt = build_runtime(load_config(path))
        for name, body in (("create", fixture), ("update (resolve)", resolved)):
            emu.reset_stats()
            rt.ingest([ib.NewEvent("azure-monitor", "azure", name, json.dumps(body))])
            rt.processor.drain()
            rt.dispatcher.drain(timeout=30)
            counts[name] = emu.stats()["requests_total"]
        assert rt.scheduler is not None
        rt.scheduler.pollers[0].poll_once()
        time.sleep(1.1)
        emu.reset_stats()
        rt.scheduler.pollers[0].poll_once()
        counts["idle poll"] = emu.stats()["requests_total"]
        rt.stop()
    return Result(
        name="ServiceNow calls per change",
        what=(
            "API calls the emulator counted for each synced change: an alert's incident create, its resolve (an "
            "update through the link table, no read first), and a poll that finds nothing new."
        ),
        figures={k: f"{v} call{'s' if v != 1 else ''}" for k, v in counts.items()},
        baseline="a read-before-write client: 2 calls per update",
        ratio=None,
        target="create 1, update 1, idle poll 1",
        met=counts == {"create": 1, "update (resolve)": 1, "idle poll": 1},
    )


def run() -> list[Result]:
    return [calls_per_change(), poll_throughput()]


if __name__ == "__main__":
    for r in run():
        print(r)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
