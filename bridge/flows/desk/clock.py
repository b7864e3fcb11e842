"""The desk's own clocks on one record: triage and resolution, as pure functions over its stored state.

Ops Manual 5.17: "First-line support assesses and categorises the case within 15 Mins". 3.10: "a work around or
enduring fix tested and implemented with[in] 6 hours" (P1), "1 Day" (P2), "5 Business Days" (P3), "20 Business
Days" (P4). 5.12: On Hold "would also pause any SLA clock running". 2.3.1: business days are core hours,
08:30-17:30 Monday to Friday excluding bank holidays.

The resolution clock is kept as the list of intervals it ran (``runs``: opened, paused On Hold, resumed, done), so
its due time can be recomputed from scratch whenever the priority changes: P1 and P2 count elapsed time round the
clock (the desk is 24/7/365, 3.1), P3 and P4 count core hours on the calendar of the record's nation (a party in
Scotland keeps Scotland's bank holidays). The triage clock is elapsed time from receipt. Every time is UTC ISO
text to the second, so stored states compare as text (the ``due`` index of migration 0006).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bridge.mappings.calendar import BusinessCalendar, core_hours
from bridge.mappings.priority import CORE_DAY, Priority, resolution_target

ROUND_THE_CLOCK = BusinessCalendar(always=True)
ClockName = Literal["triage", "resolution"]


def iso(moment: datetime) -> str:
    """UTC ISO text to the second: what the state stores, and what sorts as time."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Mark:
    """A warning or breach the clock reached: which clock, when, and the target it was measured against."""

    kind: Literal["warning", "breach"]
    clock: ClockName
    at: str
    priority: int


def measure(priority: int, region: str) -> tuple[BusinessCalendar, timedelta]:
    """The calendar the resolution clock counts on, and the time it has (3.10)."""
    target = resolution_target(Priority(min(max(priority, 1), 4)))
    if target.business_days is not None:
        return core_hours(region), CORE_DAY * target.business_days
    assert target.elapsed is not None
    return ROUND_THE_CLOCK, target.elapsed


def crossing(runs: list[list[str | None]], cal: BusinessCalendar, amount: timedelta) -> str | None:
    """When the clock's running time reaches ``amount``: in a past run, in the open run, or None (paused or
    stopped short of it)."""
    used = timedelta(0)
    for start, end in runs:
        assert start is not None
        begin = parse(start)
        if end is None:
            return iso(cal.add(begin, amount - used))
        ran = cal.business_time(begin, parse(end))
        if used + ran >= amount:
            return iso(cal.add(begin, amount - used))
        used += ran
    return None


def running(st: dict[str, Any]) -> bool:
    runs = st.get("runs") or []
    return bool(runs) and runs[-1][1] is None


def recompute(st: dict[str, Any], warn_share: float) -> None:
    """The resolution clock's due and warning times from its runs and the current priority."""
    cal, target = measure(int(st["priority"]), str(st.get("region") or "ENG"))
    runs = st.get("runs") or []
    st["due_at"] = crossing(runs, cal, target)
    st["warn_at"] = crossing(runs, cal, target * warn_share)
    st["due"] = next_due(st)


def next_due(st: dict[str, Any]) -> str | None:
    """The next moment a tick must look at this record (the ``due`` index), None when nothing is pending."""
    pending = []
    if not st.get("triage_met") and not st.get("triage_breached"):
        pending += [st.get("triage_warn_at") if not st.get("triage_warned") else None, st.get("triage_due")]
    if running(st) and not st.get("res_breached"):
        pending += [st.get("warn_at") if not st.get("warned") else None, st.get("due_at")]
    found = [p for p in pending if p]
    return min(found) if found else None


def reached(st: dict[str, Any], now: str) -> list[Mark]:
    """Warnings and breaches whose time has come by ``now``, each marked on the state once."""
    marks: list[Mark] = []
    priority = int(st["priority"])
    if not st.get("triage_met") and not st.get("triage_breached"):
        if st.get("triage_warn_at") and not st.get("triage_warned") and st["triage_warn_at"] <= now:
            st["triage_warned"] = st["triage_warn_at"]
            marks.append(Mark("warning", "triage", st["triage_warn_at"], priority))
        if st.get("triage_due") and st["triage_due"] <= now:
            st["triage_breached"] = st["triage_due"]
            marks.append(Mark("breach", "triage", st["triage_due"], priority))
    if running(st) and not st.get("res_breached"):
        since = str(st.get("priority_since") or "")
        if st.get("warn_at") and not st.get("warned") and st["warn_at"] <= now:
            st["warned"] = max(st["warn_at"], since)
            marks.append(Mark("warning", "resolution", st["warned"], priority))
        if st.get("due_at") and st["due_at"] <= now:
            st["res_breached"] = max(st["due_at"], since)  # raised past its target: breached from the change
            marks.append(Mark("breach", "resolution", st["res_breached"], priority))
    breaches = [t for t in (st.get("triage_breached"), st.get("res_breached")) if t]
    st["breached"] = min(breaches) if breaches else None
    st["due"] = next_due(st)
    return marks


def pause(st: dict[str, Any], moment: str) -> None:
    """On Hold (5.12) or done: close the open run."""
    if running(st):
        st["runs"][-1][1] = max(moment, str(st["runs"][-1][0]))


def resume(st: dict[str, Any], moment: str) -> None:
    """Back to work: open a new run."""
    if not running(st):
        st.setdefault("runs", []).append([moment, None])


def summary(st: dict[str, Any]) -> str:
    """The record's resolution target for people, e.g. "P3, 5 business days"."""
    target = resolution_target(Priority(min(max(int(st["priority"]), 1), 4)))
    return f"P{int(st['priority'])}, {target.text}"
