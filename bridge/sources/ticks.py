"""Scheduled ticks: time passing, as inbox events, so clocks are checked by the processor like any change.

Today one tick kind: the partner response clock (:mod:`bridge.flows.partner.response`) of every central
`partner-case` route, once a minute. A tick is keyed by its route and minute, so two daemons ticking the same
minute store one event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bridge.config import BridgeConfig
from bridge.store import inbox as ib

#: the source name of partner response-clock ticks (the flow recognises its events by it)
PARTNER_TICK = "partner-case:tick"

Ingest = Callable[[list[ib.NewEvent]], list[ib.Accepted]]
Job = tuple[str, float, Callable[[], None]]


def tick_event(route: str, now: datetime | None = None) -> ib.NewEvent:
    """One tick per route per minute (a second tick in the same minute is a duplicate and stored once)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M")
    return ib.NewEvent(source=PARTNER_TICK, route=route, dedupe_key=f"tick:{moment}", payload=json.dumps({}))


def tick_job(routes: Sequence[str], ingest: Ingest) -> Callable[[], None]:
    """A job for the scheduler: one tick event for each of ``routes``."""

    def job() -> None:
        ingest([tick_event(r) for r in routes])

    return job


def jobs(config: BridgeConfig, ingest: Ingest, *, seconds: float = 60.0) -> list[Job]:
    """The tick job for every central `partner-case` route (none when there is no such route)."""
    routes = [
        r.name for r in config.routes if r.kind == "partner-case" and r.options.get("side", "central") == "central"
    ]
    return [("partner-sla", seconds, tick_job(routes, ingest))] if routes else []
