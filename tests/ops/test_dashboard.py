"""The Grafana dashboard only charts metrics the bridge exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.registry import REGISTRY

from bridge import metrics
from bridge.ops import metrics as ops_metrics
from bridge.store import open_store

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
SUFFIXES = re.compile(r"_(total|bucket|count|sum|created)$")


def test_dashboard_queries_name_exported_metrics(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    store.upgrade()
    metrics.watch_store(store)
    ops_metrics.watch_routes(store)
    exported = {SUFFIXES.sub("", family.name) for family in REGISTRY.collect() if family.name.startswith("bridge_")}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {SUFFIXES.sub("", name) for expr in exprs for name in re.findall(r"\bbridge_[a-z_]+", expr)}
    assert len(exprs) > 15 and used, "the dashboard has its panels"
    assert used <= exported, f"not exported: {sorted(used - exported)}"
    store.dispose()
