"""Partner response time: has the desk acknowledged a raised case within its agreed minutes of cover?

The clock runs only in the partner's hours of cover (its time zone, days, start/end, England & Wales bank
holidays unless it works them), or round the clock for a priority it covers out of hours. A late desk gets one
work note on our case (in or out of hours, and its out-of-hours contact) and counts
``bridge_partner_breaches_total{partner}``. The check runs on every event of the pair, and on a periodic tick
(:mod:`bridge.sources.ticks` puts one tick event per minute into each central route's inbox), so the check is
planned by the processor like every other operation.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from bridge.engine.flows import PlanContext, Planned
from bridge.flows.partner.pair import Pair, Setup
from bridge.partners import Partner

PARTNER_BREACHES = Counter(
    "bridge_partner_breaches_total", "Raised cases a partner desk did not acknowledge in time", ["partner"]
)
TICK_SOURCE = "partner-case:tick"  # = bridge.sources.ticks.PARTNER_TICK (a flow does not import sources)


def minutes_elapsed(partner: Partner, raised_at: datetime, now: datetime, priority: int | None) -> float:
    """Business minutes on the partner's clock (wall minutes for a priority it covers out of hours)."""
    if priority is not None and priority in partner.out_of_hours.priorities:
        return max(0.0, (now - raised_at).total_seconds() / 60)
    return partner.clock.business_minutes(raised_at, now)


def waited_minutes(st: dict[str, Any], partner: Partner, now: datetime) -> float:
    """How long a raised pair has waited on the partner's clock (the breach check and the admin page agree)."""
    return minutes_elapsed(partner, datetime.fromisoformat(st["raised_at"]), now, _int(st.get("priority")))


def round_the_clock(st: dict[str, Any], partner: Partner) -> bool:
    """Whether the pair's priority is one the partner covers out of hours (its clock then never stops)."""
    priority = _int(st.get("priority"))
    return partner.clock.always or (priority is not None and priority in partner.out_of_hours.priorities)


def breach_note(st: dict[str, Any], partner: Partner, now: datetime) -> str | None:
    """The work note to add when the partner is late and has not been noted yet (marks the state); else None.
    The caller counts the breach (``PARTNER_BREACHES``) once the plan is kept."""
    if st.get("status") != "raised" or st.get("ack_at") or st.get("breached") or not st.get("raised_at"):
        return None
    if partner.response_minutes is None:
        return None  # no agreed response time: no clock
    elapsed = waited_minutes(st, partner, now)
    if elapsed <= partner.response_minutes:
        return None
    st["breached"] = now.isoformat()
    when = "in hours" if partner.clock.in_hours(now) else "out of hours"
    contact = partner.out_of_hours.contact or "none nominated"
    covered = ", ".join(f"P{p}" for p in partner.out_of_hours.priorities) or "none"
    return (
        f"{partner.name} has not acknowledged this case within its agreed {partner.response_minutes} minutes "
        f"of cover ({elapsed:.0f} business minutes since it was raised). The desk is {when} now "
        f"(hours {hours_text(partner)}; out-of-hours contact: {contact}; priorities covered out of hours: {covered})."
    )


def hours_text(partner: Partner) -> str:
    """The hours of cover for people: `24x7` or `mon,tue,... 09:00-17:00 Europe/London` (the core hours, said so,
    when the directory does not state them)."""
    text = partner.clock.text()
    return text if partner.hours is not None else f"{text} (not stated: core hours)"


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def late(pair: Pair) -> list[Planned]:
    """The breach note on our case when the partner is late and has not been noted yet (marks the state)."""
    note = breach_note(pair.st, pair.partner, pair.ctx.now)
    if note is None:
        return []
    pair.ctx.with_plan(PARTNER_BREACHES.labels(pair.partner.key).inc)
    return [pair.on_case("work_note", {"text": note})]


def tick(ctx: PlanContext, setup: Setup, *, central: bool) -> list[Planned]:
    """The periodic response-time check over every raised, unacknowledged pair (central routes only)."""
    if not central:
        return []
    ops: list[Planned] = []
    for _key, st in ctx.states("case:"):
        partner = setup.directory.get(st.get("partner", ""))
        if partner is None or st.get("status") != "raised" or st.get("ack_at") or st.get("breached"):
            continue
        pair = Pair(setup, partner, copy.deepcopy(st), ctx)
        noted = late(pair)
        if noted:
            pair.save()
            ops += noted
    return ops
