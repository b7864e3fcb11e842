"""Replay memory: 100,000 stored events run again through today's mapping (a `forward` route), planned in pages
and enqueued, in a process of its own so its peak RSS is the replay's. Baseline: the same process loading the
100,000 stored events into a list first (what a naive replay does)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.report import Result

ROOT = Path(__file__).resolve().parents[1]
N = 100_000

_SEED = """
import json, sys, time
from pathlib import Path
import sqlalchemy as sa
from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.store.schema import inbox
rt = build_runtime(load_config(Path(sys.argv[1])))
t = time.time()
rows = [{"source": "forward", "route": "fwd", "dedupe_key": f"e{i}", "record_key": f"r{i % 1000}",
         "payload": json.dumps({"record": f"r{i % 1000}", "seq": i, "text": "x" * 200}), "received_at": t,
         "status": "done"} for i in range(int(sys.argv[2]))]
with rt.store.begin() as conn:
    for start in range(0, len(rows), 5000):
        conn.execute(sa.insert(inbox), rows[start:start + 5000])
rt.stop()
"""

_REPLAY = """
import json, sys, time
from pathlib import Path
from bench.report import peak_rss_mb
from bridge.config import load_config
from bridge.ops.replay import ReplayWindow, replay
from bridge.runtime import build_runtime
rt = build_runtime(load_config(Path(sys.argv[1])))
naive = sys.argv[2] == "naive"
t0 = time.perf_counter()
if naive:
    import sqlalchemy as sa
    from bridge.store.schema import inbox
    with rt.store.begin() as conn:
        events = conn.execute(sa.select(inbox)).all()
    count = len(events)
else:
    summary = replay(rt.store, ReplayWindow(route="fwd", since=0), route=rt.routes["fwd"], flow=rt.flows["fwd"],
                     actor="bench")
    count = summary.enqueued
seconds = time.perf_counter() - t0
rt.stop()
rss_mb = peak_rss_mb()
print(json.dumps({"count": count, "seconds": seconds, "rss_mb": rss_mb}))
"""


def _run(script: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def run() -> list[Result]:
    from tests.support.engine import forward_config

    with tempfile.TemporaryDirectory() as tmp:
        config = str(forward_config(Path(tmp), target_url="http://127.0.0.1:9", db_url=f"sqlite:///{tmp}/b.db"))
        _run(_SEED, config, str(N))
        naive = _run(_REPLAY, config, "naive")
        bridge = _run(_REPLAY, config, "paged")
    return [
        Result(
            name="replay 100,000 events",
            what=__doc__ or "",
            figures={
                "peak RSS": f"{bridge['rss_mb']:.0f} MB",
                "operations enqueued": f"{int(bridge['count'])}",
                "time": f"{bridge['seconds']:.0f} s",
            },
            baseline=f"loading all events first: {naive['rss_mb']:.0f} MB",
            ratio=bridge["rss_mb"] / naive["rss_mb"],
            target="peak RSS < 250 MB",
            met=bridge["rss_mb"] < 250 and int(bridge["count"]) == N,
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
