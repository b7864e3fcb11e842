"""Scheduled ticks: time passing, as inbox events, so clocks are checked by the processor like any change.

Two tick kinds, once a minute: the partner response clock (:mod:`bridge.flows.partner.response`) of every
central `partner-case` route, and the desk's own clocks and major-incident cadence (:mod:`bridge.flows.desk`) of
every `service-desk` route (unless its ``options.ticks`` is false). A tick is keyed by its route and minute, so
two daemons ticking the same minute store one event, and it carries the minute it stands for (``{"at": ...}``):
the desk plans from that time, never the wall clock, so a test can ingest ticks for chosen moments and run days
of desk time in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bridge.config import BridgeConfig
from bridge.store import inbox as ib

#: the source name of partner response-clock ticks (the flow recognises its events by it)
PARTNER_TICK = "partner-case:tick"
#: the source name of the desk's clock ticks (= bridge.flows.desk.flow.TICK_SOURCE)
DESK_TICK = "service-desk:tick"

Ingest = Callable[[list[ib.NewEvent]], list[ib.Accepted]]
Job = tuple[str, float, Callable[[], None]]


def tick_event(route: str, now: datetime | None = None, *, source: str = PARTNER_TICK) -> ib.NewEvent:
    """One tick per route per minute (a second tick in the same minute is a duplicate and stored once)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    payload = json.dumps({"at": moment.isoformat()})
    return ib.NewEvent(source=source, route=route, dedupe_key=f"tick:{moment:%Y-%m-%dT%H:%M}", payload=payload)


def desk_tick(route: str, at: datetime) -> ib.NewEvent:
    """The desk's tick for the minute of ``at``."""
    return tick_event(route, at, source=DESK_TICK)


def tick_job(routes: Sequence[str], ingest: Ingest, *, source: str = PARTNER_TICK) -> Callable[[], None]:
    """A job for the scheduler: one tick event for each of ``routes``."""

    def job() -> None:
        now = datetime.now(UTC)
        ingest([tick_event(r, now, source=source) for r in routes])

    return job


def jobs(config: BridgeConfig, ingest: Ingest, *, seconds: float = 60.0) -> list[Job]:
    """The tick jobs: central `partner-case` routes, and `service-desk` routes that tick."""
    partner = [
        r.name for r in config.routes if r.kind == "partner-case" and r.options.get("side", "central") == "central"
    ]
    desk = [r.name for r in config.routes if r.kind == "service-desk" and r.options.get("ticks", True)]
    found: list[Job] = []
    if partner:
        found.append(("partner-sla", seconds, tick_job(partner, ingest)))
    if desk:
        found.append(("desk-clocks", seconds, tick_job(desk, ingest, source=DESK_TICK)))
    return found
