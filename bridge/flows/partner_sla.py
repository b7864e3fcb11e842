"""Partner response time: has the desk acknowledged a raised case within its agreed minutes of cover?

The clock runs only in the partner's hours of cover (its time zone, days, start/end, England & Wales bank
holidays unless it works them), or round the clock for a priority it covers out of hours. A late desk gets one
work note on our case (in or out of hours, and its out-of-hours contact) and counts
``bridge_partner_breaches_total{partner}``. The check runs on every event of the pair, and on a periodic tick:
:func:`tick_job` puts one tick event per minute into the route's inbox, so the check stays inside the processor's
transaction like every other planned operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter

from bridge.config import BridgeConfig
from bridge.engine.flows import PlanContext, Planned
from bridge.partners import Directory, Partner
from bridge.store import inbox as ib
from bridge.store.schema import flow_state

PARTNER_BREACHES = Counter(
    "bridge_partner_breaches_total", "Raised cases a partner desk did not acknowledge in time", ["partner"]
)
TICK_SOURCE = "partner-case:tick"


def minutes_elapsed(partner: Partner, raised_at: datetime, now: datetime, priority: int | None) -> float:
    """Business minutes on the partner's clock (wall minutes for a priority it covers out of hours)."""
    if priority is not None and priority in partner.out_of_hours.priorities:
        return max(0.0, (now - raised_at).total_seconds() / 60)
    return partner.hours.business_minutes(raised_at, now)


def waited_minutes(st: dict[str, Any], partner: Partner, now: datetime) -> float:
    """How long a raised pair has waited on the partner's clock (the breach check and the admin page agree)."""
    return minutes_elapsed(partner, datetime.fromisoformat(st["raised_at"]), now, _int(st.get("priority")))


def round_the_clock(st: dict[str, Any], partner: Partner) -> bool:
    """Whether the pair's priority is one the partner covers out of hours (its clock then never stops)."""
    priority = _int(st.get("priority"))
    return partner.hours.always or (priority is not None and priority in partner.out_of_hours.priorities)


def breach_note(st: dict[str, Any], partner: Partner, now: datetime) -> str | None:
    """The work note to add when the partner is late and has not been noted yet (marks the state); else None."""
    if st.get("status") != "raised" or st.get("ack_at") or st.get("breached") or not st.get("raised_at"):
        return None
    elapsed = waited_minutes(st, partner, now)
    if elapsed <= partner.response_minutes:
        return None
    st["breached"] = now.isoformat()
    PARTNER_BREACHES.labels(partner.key).inc()
    when = "in hours" if partner.hours.in_hours(now) else "out of hours"
    contact = partner.out_of_hours.contact or "none nominated"
    covered = ", ".join(f"P{p}" for p in partner.out_of_hours.priorities) or "none"
    return (
        f"{partner.name} has not acknowledged this case within its agreed {partner.response_minutes} minutes "
        f"of cover ({elapsed:.0f} business minutes since it was raised). The desk is {when} now "
        f"(hours {hours_text(partner)}; out-of-hours contact: {contact}; priorities covered out of hours: {covered})."
    )


def hours_text(partner: Partner) -> str:
    """The hours of cover for people: `24x7` or `mon,tue,... 09:00-17:00 Europe/London`."""
    h = partner.hours
    if h.always:
        return "24x7"
    return f"{','.join(h.days)} {h.start:%H:%M}-{h.end:%H:%M} {h.timezone}"


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


Late = Callable[[dict[str, Any], Partner, str], list[Planned]]


def tick(ctx: PlanContext, *, flow: str, central: bool, directory: Directory, late: Late) -> list[Planned]:
    """The periodic response-time check over every raised, unacknowledged pair (central routes only);
    ``late(state, partner, our sys_id)`` gives the breach note operations and marks the state."""
    if not central:
        return []
    rows = ctx.conn.execute(
        sa.select(flow_state.c.key, flow_state.c.state).where(
            flow_state.c.flow == flow, flow_state.c.key.like("case:%")
        )
    )
    ops: list[Planned] = []
    for key, raw in list(rows):
        st = ctx.state(key) or json.loads(raw)
        partner = directory.get(st.get("partner", ""))
        if partner is None or st.get("status") != "raised" or st.get("ack_at") or st.get("breached"):
            continue
        st = json.loads(json.dumps(st))
        noted = late(st, partner, key.removeprefix("case:"))
        if noted:
            ctx.set_state(key, st)
            ops += noted
    return ops


def tick_event(route: str, now: datetime | None = None) -> ib.NewEvent:
    """One tick per route per minute (a second tick in the same minute is a duplicate and stored once)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M")
    return ib.NewEvent(source=TICK_SOURCE, route=route, dedupe_key=f"tick:{moment}", payload=json.dumps({}))


def tick_job(routes: Sequence[str], ingest: Callable[[list[ib.NewEvent]], list[ib.Accepted]]) -> Callable[[], None]:
    """A job for the scheduler: ``(f"partner-sla", 60, tick_job(["ebond"], runtime.ingest))``."""

    def job() -> None:
        ingest([tick_event(r) for r in routes])

    return job


def jobs(
    config: BridgeConfig, ingest: Callable[[list[ib.NewEvent]], list[ib.Accepted]], *, seconds: float = 60.0
) -> list[tuple[str, float, Callable[[], None]]]:
    """The scheduler job for every central `partner-case` route (none when there is no such route)."""
    routes = [
        r.name for r in config.routes if r.kind == "partner-case" and r.options.get("side", "central") == "central"
    ]
    return [("partner-sla", seconds, tick_job(routes, ingest))] if routes else []
