"""Metrics of the operations surface. They live here, not in :mod:`bridge.metrics`, so the engine's module stays
the engine's; the names follow the same `bridge_` convention and the Grafana dashboard uses them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

if TYPE_CHECKING:
    from bridge.store import Store

ADMIN_ACTIONS = Counter(
    "bridge_admin_actions_total",
    "Operator actions (dead-letter retry/discard, pause, resume, replay, resync, mapping-edit/rollback/import) by "
    "action and route",
    ["action", "route"],
)
REPLAYED_OPERATIONS = Counter("bridge_replayed_operations_total", "Operations enqueued by `bridge replay`", ["route"])


class RouteStateCollector(Collector):
    """`bridge_route_paused{route}`: 1 while a route is paused, read from the store at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from bridge.store import records

        gauge = GaugeMetricFamily("bridge_route_paused", "1 while the route is paused by an operator", labels=["route"])
        try:
            with self.store.begin() as conn:
                states = records.route_states(conn)
        except Exception:  # a scrape must never fail because the store is briefly unavailable
            return
        for route, row in states.items():
            gauge.add_metric([route], 1.0 if row.paused else 0.0)
        yield gauge


_collector: RouteStateCollector | None = None


def watch_routes(store: Store) -> None:
    """Register (once per process; the latest store wins) the collector of the paused flags."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = RouteStateCollector(store)
    REGISTRY.register(_collector)
