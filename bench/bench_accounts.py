"""Account reconcile cost: API calls and wall time for a 2,000-organisation first sync (three levels, 4,023 records
with the contacts) and for a change set (40 renames, 50 re-parents, 20 deactivations, 30 new), against the
ServiceNow emulator.

The first sync runs twice in the same run, on a fresh emulator and store each time: with the Batch API (the
default: up to 50 independent records' writes per call) and with batching switched off (`batch.enabled:
false`: one call per record, the path before batching). The ratio is the time with batching off over the time
with it on. Wall time covers the whole sync: planning reads, planning, and delivery until every operation is
done. The emulator runs in a process of its own (bench/target.py), as the instance is another machine; in the
benchmark's process its work took half the interpreter's time. The change set's baseline is the calls a naive
per-organisation script makes for the same run (look each account up by key, then write it: two calls per
organisation and per contact, changed or not), counted, not run.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from bench.report import Result
from bench.target import servicenow_process
from bridge.accounts import generate_change_set, generate_registry
from bridge.accounts.model import Registry
from tests.flows.test_accounts_sync import _runtime, _sync

PER_CALL = 50  # the default batch size


def _first_sync(registry: Registry, *, batch: bool) -> tuple[int, int, int, int, float]:
    """(planned steps, reads, records written, write calls, seconds) of a first sync on an empty instance."""
    with servicenow_process() as emu, tempfile.TemporaryDirectory() as tmp:
        rt = _runtime(Path(tmp), emu.url, batch=batch)
        t0 = time.perf_counter()
        plan, reads, writes, calls = _sync(rt, emu, registry)  # type: ignore[arg-type]  # the same counters
        seconds = time.perf_counter() - t0
        rt.stop()
    return len(plan.steps), reads, writes, calls, seconds


def _first_sync_result(registry: Registry) -> Result:
    steps, _, off_writes, off_calls, off_seconds = _first_sync(registry, batch=False)
    steps, reads, writes, calls, seconds = _first_sync(registry, batch=True)
    ratio = off_seconds / seconds
    most_calls = math.ceil(steps / PER_CALL)
    return Result(
        name="accounts first sync",
        what=__doc__ or "",
        figures={
            "records": str(steps),
            "API calls": f"{reads + calls} ({reads} reads, {calls} Batch API calls carrying {writes} writes)",
            "wall time": f"{seconds:.1f} s",
            "batching off": f"{reads + off_calls} calls, {off_seconds:.1f} s",
        },
        baseline=f"one call per record (batching off) {off_seconds:.1f} s",
        ratio=ratio,
        target=f"at most one write call per {PER_CALL} records (<= {most_calls}), 5x faster than one call per record",
        met=writes == steps and off_writes == steps and calls <= most_calls and ratio >= 5,
        notes=[
            f"batching off made {off_calls} write calls for {off_writes} records; before batching (and before "
            "records had their own ordering keys) this sync took 29.2 s and 4,025 calls on this machine",
        ],
    )


def _change_set_result(registry: Registry) -> Result:
    changed = generate_change_set(registry, renames=40, reparents=50, deactivations=20, new=30, seed=2)
    with servicenow_process() as emu, tempfile.TemporaryDirectory() as tmp:
        rt = _runtime(Path(tmp), emu.url)
        _sync(rt, emu, registry)  # type: ignore[arg-type]  # the same counters
        t0 = time.perf_counter()
        plan, reads, writes, calls = _sync(rt, emu, changed)  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        rt.stop()
    records = len(changed.organisations) + sum(len(o.contacts) for o in changed.organisations)
    naive = 2 * records
    return Result(
        name="accounts change set",
        what=__doc__ or "",
        figures={
            "API calls": f"{reads + calls} ({reads} reads, {calls} write calls carrying {writes} writes)",
            "planned steps": str(len(plan.steps)),
            "wall time": f"{seconds:.1f} s",
        },
        baseline=f"naive script {naive} calls",
        ratio=naive / max(1, reads + calls),
        target="one write per changed record, reads bounded by pages",
        met=writes == len(plan.steps),
    )


def run() -> list[Result]:
    registry = generate_registry(n_orgs=2000, levels=3, seed=1)
    return [_first_sync_result(registry), _change_set_result(registry)]


if __name__ == "__main__":
    for r in run():
        print(r)
