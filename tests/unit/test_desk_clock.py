"""The desk's clocks on an injected clock (Ops Manual 2.3.1, 3.8-3.10, 5.12, 5.17): pure state transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.flows.desk import clock
from bridge.flows.desk.options import DeskOptions
from bridge.flows.desk.watch import observe

SYS_ID = "0123456789abcdef0123456789abcdef"


def rec(at: datetime, mod: int, **fields: str) -> dict[str, str]:
    """A flattened incident as the Table API gives it, stamped by the instance at ``at``."""
    stamp = at.strftime("%Y-%m-%d %H:%M:%S")
    base = {"sys_id": SYS_ID, "number": "INC0010001", "state": "1", "priority": "3", "sys_updated_on": stamp}
    return {**base, "sys_mod_count": str(mod), **fields}


def opened(at: datetime, opts: DeskOptions | None = None, **fields: str) -> tuple[dict[str, Any], DeskOptions]:
    opts = opts or DeskOptions.model_validate({})
    stamp = at.strftime("%Y-%m-%d %H:%M:%S")
    observed = observe(None, rec(at, 0, opened_at=stamp, **fields), opts, at)
    assert observed is not None
    return observed[0], opts


def then(st: dict[str, Any], opts: DeskOptions, at: datetime, mod: int, **fields: str) -> list[clock.Mark]:
    observed = observe(st, rec(at, mod, **fields), opts, at)
    assert observed is not None
    new = dict(observed[0])  # observe may move the same dict on
    st.clear()
    st.update(new)
    return observed[1].marks


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_p3_counts_business_days_across_a_weekend_easter_and_the_clock_change() -> None:
    # Friday 27 March 2026 16:00 GMT; BST from Sunday 29th; Good Friday 3 April and Easter Monday 6 April
    st, _ = opened(utc(2026, 3, 27, 16, 0), state="2")
    # 45 core hours: 1.5 on Friday, Mon-Thu 36, then 7.5 on Tuesday 7 April: 16:00 BST
    assert st["due_at"] == "2026-04-07T15:00:00+00:00"
    assert st["triage_met"] and st["warn_at"] < st["due_at"] and st["due"] == st["warn_at"]


def test_a_party_in_scotland_works_easter_monday() -> None:
    opts = DeskOptions.model_validate({"calendar": {"region_field": "company", "regions": {"SCT": ["scotco"]}}})
    st, _ = opened(utc(2026, 3, 27, 16, 0), opts, state="2", company="scotco")
    assert st["region"] == "SCT" and st["due_at"] == "2026-04-06T15:00:00+00:00"


def test_on_hold_pauses_the_clock_and_resuming_moves_the_due_time() -> None:
    st, opts = opened(utc(2026, 3, 30, 9, 0), priority="1", state="2")  # P1: 6 hours round the clock
    assert st["due_at"] == "2026-03-30T15:00:00+00:00"
    then(st, opts, utc(2026, 3, 30, 10, 0), 1, priority="1", state="3", hold_reason="4")  # Awaiting Vendor
    assert st["due_at"] is None and st["due"] is None  # paused: nothing due (triage was done at 09:00)
    assert clock.reached(st, "2026-03-30T20:00:00+00:00") == []
    then(st, opts, utc(2026, 3, 30, 13, 0), 2, priority="1", state="2")
    assert st["due_at"] == "2026-03-30T18:00:00+00:00"  # 1 hour used, 5 left from 13:00


def test_warning_then_breach_each_recorded_once() -> None:
    st, _ = opened(utc(2026, 3, 30, 9, 0), priority="1", state="2")
    assert clock.reached(st, "2026-03-30T13:00:00+00:00") == []
    [warning] = clock.reached(st, "2026-03-30T13:30:00+00:00")  # 75% of 6 hours: 13:30
    assert (warning.kind, warning.clock, warning.at) == ("warning", "resolution", "2026-03-30T13:30:00+00:00")
    [breach] = clock.reached(st, "2026-03-31T09:00:00+00:00")  # noticed late (a restart): dated when due
    assert (breach.kind, breach.at) == ("breach", "2026-03-30T15:00:00+00:00")
    assert clock.reached(st, "2026-04-01T09:00:00+00:00") == [] and st["breached"] == breach.at
    assert st["due"] is None


def test_a_raised_priority_is_measured_over_the_whole_time_run() -> None:
    st, opts = opened(utc(2026, 3, 30, 9, 0), state="2")  # P3
    marks = then(st, opts, utc(2026, 3, 30, 17, 0), 1, priority="1", state="2")  # 8 hours in: past P1's 6
    assert [(m.kind, m.at) for m in marks] == [
        ("warning", "2026-03-30T17:00:00+00:00"),
        ("breach", "2026-03-30T17:00:00+00:00"),
    ]
    assert st["priority"] == 1 and st["res_breached"] == "2026-03-30T17:00:00+00:00"


def test_triage_is_due_fifteen_minutes_after_receipt() -> None:
    st, opts = opened(utc(2026, 3, 28, 2, 0))  # a Saturday night: the desk is 24/7 (3.1)
    assert st["triage_due"] == "2026-03-28T02:15:00+00:00" and st["due"] == st["triage_due"]
    [breach] = clock.reached(st, "2026-03-28T02:16:00+00:00")
    assert (breach.kind, breach.clock) == ("breach", "triage")
    then(st, opts, utc(2026, 3, 28, 2, 20), 1, state="2")
    assert st["triage_met"] == "2026-03-28T02:20:00+00:00" and st["triage_breached"] == "2026-03-28T02:15:00+00:00"


def test_resolved_stops_the_clock_and_an_older_change_is_ignored() -> None:
    st, opts = opened(utc(2026, 3, 30, 9, 0), priority="2", state="2")
    then(st, opts, utc(2026, 3, 30, 12, 0), 3, priority="2", state="6")
    assert st["status"] == "done" and st["met_at"] == "2026-03-30T12:00:00+00:00" and st["due"] is None
    assert observe(st, rec(utc(2026, 3, 30, 11, 0), 2, state="2"), opts, utc(2026, 3, 30, 11)) is None
    then(st, opts, utc(2026, 3, 30, 14, 0), 4, priority="2", state="2")  # reopened: runs again
    assert st["status"] == "open" and st["met_at"] is None
    assert st["due_at"] == clock.iso(utc(2026, 3, 31, 9, 0) + timedelta(hours=2))
