"""Partner response times for the admin page and API: per partner desk, the cases raised to it and still waiting
for acknowledgement (how long, on the desk's own clock, against its agreed minutes), and its breaches.

The partner-case flow keeps one flow-state row per case (``flow='partner-case'``, ``key='case:<sys_id>'``, a JSON
document with ``status``, ``raised_at``, ``ack_at``, ``breached``). Three ``LIMIT``ed queries read it
(:mod:`bridge.store.views`), through the expression indexes of migration 0004: cases by ``status = 'raised'``
(then ``ack_at`` unset), cases whose raise was dead-lettered by ``status = 'not_raised'``, breaches by
``breached`` newest first. Only those cases reach Python, where the business-hours clock of
:mod:`bridge.flows.partner.response` measures them: the cost follows the open and breached cases, not the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.flows.partner import PartnerCaseFlow
from bridge.flows.partner import response as sla
from bridge.partners import Partner
from bridge.store import Connection, Store, views

FLOW = "partner-case"
#: the flow's rows of a case pair (its other rows, if any, are not cases)
CASE_PREFIX = "case:"
MAX_ROWS = 500


@dataclass(frozen=True)
class WaitingCase:
    sys_id: str
    number: str
    raised_at: str
    waited_minutes: float
    response_minutes: int | None
    round_the_clock: bool
    late: bool


@dataclass(frozen=True)
class Breach:
    sys_id: str
    number: str
    raised_at: str
    breached_at: str
    in_hours: bool
    status: str
    acknowledged_at: str | None


@dataclass(frozen=True)
class NotRaised:
    """A case routed to the desk whose create was dead-lettered: it does not wait on the desk (retry the dead
    letter to raise it)."""

    sys_id: str
    number: str
    error: str


@dataclass
class PartnerDesk:
    key: str
    name: str
    response_minutes: int | None
    hours: str
    in_hours_now: bool
    waiting: list[WaitingCase] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    not_raised: list[NotRaised] = field(default_factory=list)


def desks(conn: Connection, partners: Iterable[Partner], *, now: datetime | None = None) -> list[PartnerDesk]:
    """Every partner of the directory (and any key met in the store that it no longer lists), in key order."""
    moment = now or datetime.now(UTC)
    directory = {p.key: p for p in partners}
    found = {key: _desk(partner, moment) for key, partner in directory.items()}
    waiting = views.states_where(
        conn, FLOW, prefix=CASE_PREFIX, equal={"status": "raised"}, unset=("ack_at",), limit=MAX_ROWS
    )
    for st in _cases(waiting):
        partner = directory.get(str(st.get("partner")))
        if partner is not None and st.get("raised_at"):
            found[partner.key].waiting.append(_waiting(st, partner, moment))
    not_raised = views.states_where(conn, FLOW, prefix=CASE_PREFIX, equal={"status": "not_raised"}, limit=MAX_ROWS)
    for st in _cases(not_raised):
        desk = found.setdefault(str(st.get("partner")), _unknown(str(st.get("partner"))))
        desk.not_raised.append(
            NotRaised(str(st.get("our_id", "")), str(st.get("number") or ""), str(st.get("raise_error") or ""))
        )
    for st in _cases(views.states_newest(conn, FLOW, prefix=CASE_PREFIX, field="breached", limit=MAX_ROWS)):
        desk = found.setdefault(str(st.get("partner")), _unknown(str(st.get("partner"))))
        desk.breaches.append(_breach(st, directory.get(desk.key)))
    for desk in found.values():
        desk.waiting.sort(key=lambda w: w.raised_at)
    return [found[key] for key in sorted(found)]


def _cases(states: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each case's state, knowing its own sys_id (``our_id``, else the one in its key)."""
    for key, st in states:
        st.setdefault("our_id", key.removeprefix(CASE_PREFIX))
    return [st for _key, st in states]


def _desk(partner: Partner, now: datetime) -> PartnerDesk:
    return PartnerDesk(
        key=partner.key,
        name=partner.name,
        response_minutes=partner.response_minutes,
        hours=sla.hours_text(partner),
        in_hours_now=partner.clock.in_hours(now),
    )


def _unknown(key: str) -> PartnerDesk:
    return PartnerDesk(
        key=key, name=f"{key} (not in the partner directory)", response_minutes=None, hours="", in_hours_now=False
    )


def _waiting(st: dict[str, Any], partner: Partner, now: datetime) -> WaitingCase:
    waited = sla.waited_minutes(st, partner, now)
    return WaitingCase(
        sys_id=str(st.get("our_id", "")),
        number=str(st.get("number") or ""),
        raised_at=str(st["raised_at"]),
        waited_minutes=round(waited, 1),
        response_minutes=partner.response_minutes,
        round_the_clock=sla.round_the_clock(st, partner),
        late=partner.response_minutes is not None and waited > partner.response_minutes,
    )


def _breach(st: dict[str, Any], partner: Partner | None) -> Breach:
    breached = str(st["breached"])
    return Breach(
        sys_id=str(st.get("our_id", "")),
        number=str(st.get("number") or ""),
        raised_at=str(st.get("raised_at") or ""),
        breached_at=breached,
        in_hours=partner is not None and partner.clock.in_hours(datetime.fromisoformat(breached)),
        status=str(st.get("status") or ""),
        acknowledged_at=st.get("ack_at"),
    )


def desks_for(store: Store, flows: Iterable[Any], *, now: datetime | None = None) -> list[PartnerDesk]:
    """:func:`desks` for the running configuration: the partners of its central partner-case routes."""
    with store.begin() as conn:
        return desks(conn, directory_of(flows), now=now)


def directory_of(flows: Iterable[Any]) -> list[Partner]:
    """The partners of the central partner-case routes' directories (a key listed twice: the first one)."""
    seen: dict[str, Partner] = {}
    for flow in flows:
        if not isinstance(flow, PartnerCaseFlow) or flow.opts.side != "central":
            continue
        for partner in flow.directory.partners:
            if partner.e_bonded:  # a party with no agreed channel is never raised to
                seen.setdefault(partner.key, partner)
    return list(seen.values())
