"""The last day of activity for the overview's charts: queue depth, deliveries, retries and dead letters.

:func:`sample_job` is scheduled every minute in each daemon (bridge/runtime.py) and writes the five-minute slots
(:mod:`bridge.store.activity`); :func:`last_day` reads them back as 24 hourly buckets: the deepest queue sampled in
the hour and the hour's deliveries, retries and dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bridge.store import Connection, Store, activity

HOUR = 3600
HOURS = 24
#: how often each daemon samples (a slot is five minutes; a minute's sample catches a new slot early)
SAMPLE_SECONDS = 60.0


@dataclass
class Bucket:
    start: float
    queued: int | None = None
    delivered: int | None = None
    retried: int | None = None
    dead: int | None = None


@dataclass
class Day:
    """24 hourly buckets, oldest first; ``None`` where nothing was sampled (the bridge was not running)."""

    buckets: list[Bucket] = field(default_factory=list)

    def series(self, name: str) -> list[int | None]:
        return [getattr(b, name) for b in self.buckets]


def sample_job(store: Store, routes: Sequence[str], clock: Callable[[], float] = time.time) -> Callable[[], None]:
    """The scheduler's job: one sample of every configured route."""

    def run() -> None:
        with store.begin() as conn:
            activity.sample(conn, store, routes, now=clock())

    return run


def last_day(conn: Connection, *, now: float) -> Day:
    """The 24 whole hours up to and including the current one."""
    first = (int(now // HOUR) - HOURS + 1) * HOUR
    buckets = [Bucket(start=float(first + i * HOUR)) for i in range(HOURS)]
    for row in activity.slots_since(conn, float(first)):
        slot, queued, delivered, retried, dead = tuple(row)
        index = int((float(slot) - first) // HOUR)
        if not 0 <= index < HOURS:
            continue
        b = buckets[index]
        if queued is not None:
            b.queued = max(b.queued or 0, int(queued))
        for name, value in (("delivered", delivered), ("retried", retried), ("dead", dead)):
            if value is not None:
                setattr(b, name, (getattr(b, name) or 0) + int(value))
    return Day(buckets)
