"""Prometheus metrics, all prefixed `bridge_`. Depth gauges are read from the store at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

if TYPE_CHECKING:
    from bridge.store import Store

EVENTS_IN = Counter("bridge_inbox_events_total", "Events accepted into the inbox", ["route", "source"])
EVENTS_DUPLICATE = Counter(
    "bridge_inbox_duplicates_total", "Redelivered events recognised and not stored again", ["route", "source"]
)
EVENTS_REJECTED = Counter("bridge_inbox_rejected_total", "Inbound requests refused", ["source", "reason"])
EVENTS_PROCESSED = Counter(
    "bridge_events_processed_total", "Inbox events planned into operations", ["route", "outcome"]
)
OPERATIONS_PLANNED = Counter("bridge_operations_planned_total", "Operations written to the outbox", ["route"])
DELIVERIES = Counter(
    "bridge_deliveries_total",
    "Delivery attempts by outcome (done, retry, dead)",
    ["route", "target", "outcome"],
)
RETRIES = Counter("bridge_retries_total", "Deliveries scheduled for another attempt", ["route", "target"])
FETCH_RETRIES = Counter(
    "bridge_fetch_retries_total", "Reads before planning that failed and will be made again", ["route"]
)
DEAD_LETTERS = Counter("bridge_dead_letters_total", "Events and operations dead-lettered", ["route", "kind"])
DELIVERY_SECONDS = Histogram(
    "bridge_delivery_seconds",
    "Time of one delivery attempt",
    ["route", "target"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
END_TO_END_SECONDS = Histogram(
    "bridge_end_to_end_seconds",
    "From inbox receipt to the operation delivered",
    ["route"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class StoreCollector(Collector):
    """Inbox and outbox depth and open dead letters, counted in the store when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from bridge.store import inbox_depth, outbox, records

        inbox = GaugeMetricFamily("bridge_inbox_depth", "Inbox events by status", labels=["status"])
        box = GaugeMetricFamily("bridge_outbox_depth", "Outbox operations by status", labels=["status"])
        dead = GaugeMetricFamily("bridge_dead_letters_open", "Dead letters waiting for an admin")
        try:
            with self.store.begin() as conn:
                for status, count in inbox_depth(conn).items():
                    inbox.add_metric([status], count)
                for status, count in outbox.depth(conn).items():
                    box.add_metric([status], count)
                dead.add_metric([], records.open_dead_letter_count(conn))
        except Exception:
            return
        yield inbox
        yield box
        yield dead


_collector: StoreCollector | None = None


def watch_store(store: Store) -> None:
    """Register (once per process) the collector that reports depths of ``store``."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = StoreCollector(store)
    REGISTRY.register(_collector)
