"""Account reconcile cost: API calls and wall time for a 2,000-organisation first sync (three levels) and for a
change set (40 renames, 50 re-parents, 20 deactivations, 30 new), against the ServiceNow emulator.

Baseline: the calls a naive per-organisation script makes for the same runs (look each account up by key, then
write it: two calls per organisation and per contact, changed or not), counted, not run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.report import Result
from bridge.accounts import generate_change_set, generate_registry
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.flows.test_accounts_sync import _runtime, _sync


def run() -> list[Result]:
    results = []
    with ServiceNowEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        rt = _runtime(Path(tmp), emu.url)
        registry = generate_registry(n_orgs=2000, levels=3, seed=1)
        changed = generate_change_set(registry, renames=40, reparents=50, deactivations=20, new=30, seed=2)
        for name, reg in (("first sync", registry), ("change set", changed)):
            t0 = time.perf_counter()
            plan, reads, writes = _sync(rt, emu, reg)
            seconds = time.perf_counter() - t0
            records = len(reg.organisations) + sum(len(o.contacts) for o in reg.organisations)
            naive = 2 * records
            results.append(
                Result(
                    name=f"accounts {name}",
                    what=__doc__ or "",
                    figures={
                        "API calls": f"{reads + writes} ({reads} reads, {writes} writes)",
                        "planned steps": str(len(plan.steps)),
                        "wall time": f"{seconds:.1f} s",
                    },
                    baseline=f"naive script {naive} calls",
                    ratio=naive / max(1, reads + writes),
                    target="one write per changed record, reads bounded by pages",
                    met=writes == len(plan.steps),
                )
            )
        rt.stop()
    return results


if __name__ == "__main__":
    for r in run():
        print(r)
