"""The one business-time calendar (Ops Manual 2.3.1): core hours, bank holidays per nation, GMT/BST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bridge.mappings.calendar import CORE_HOURS, BusinessCalendar, core_hours
from bridge.partners import Hours


def test_scotland_keeps_its_own_bank_holidays() -> None:
    scotland = core_hours("SCT")
    assert scotland.is_holiday(date(2026, 11, 30)) and not CORE_HOURS.is_holiday(date(2026, 11, 30))
    assert CORE_HOURS.is_holiday(date(2026, 8, 31)) and not scotland.is_holiday(date(2026, 8, 31))
    friday_4pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # GMT: 16:00 London
    # 1.5 core hours left on Friday; Monday is St Andrew's Day in Scotland only
    assert CORE_HOURS.add(friday_4pm, timedelta(hours=3)) == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert scotland.add(friday_4pm, timedelta(hours=3)) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_clock_change_neither_adds_nor_loses_business_time() -> None:
    friday = datetime(2026, 3, 27, 16, 30, tzinfo=UTC)  # 16:30 GMT; BST starts Sunday 29 March
    due = CORE_HOURS.add(friday, timedelta(hours=2))  # 1 h on Friday, 1 h on Monday from 08:30 BST
    assert due == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)  # 09:30 BST
    assert CORE_HOURS.business_time(friday, due) == timedelta(hours=2)
    autumn = datetime(2026, 10, 23, 15, 30, tzinfo=UTC)  # 16:30 BST; GMT from Sunday 25 October
    assert CORE_HOURS.add(autumn, timedelta(hours=2)) == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)


def test_round_the_clock_and_errors() -> None:
    always = BusinessCalendar(always=True)
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert always.add(start, timedelta(hours=6)) == start + timedelta(hours=6)
    assert always.business_time(start, start + timedelta(days=2)) == timedelta(days=2)
    with pytest.raises(ValueError, match="region"):
        BusinessCalendar(region="XYZ")
    with pytest.raises(ValueError, match="end after"):
        BusinessCalendar(start=time(18), end=time(9))
    with pytest.raises(ValueError, match="timezone-aware"):
        CORE_HOURS.add(datetime(2026, 1, 5, 9), timedelta(hours=1))


def test_partner_hours_are_the_same_calendar() -> None:
    hours = Hours.model_validate(
        {"timezone": "Europe/Dublin", "days": ["mon", "sat"], "start": "10:00", "end": "12:00"}
    )
    cal = hours.calendar
    assert (cal.zone, cal.days, cal.start, cal.end, cal.region) == ("Europe/Dublin", (0, 5), time(10), time(12), "ENG")
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert (
        hours.business_minutes(monday, monday + timedelta(days=7))
        == cal.business_time(monday, monday + timedelta(days=7)).total_seconds() / 60
        == 2 * 120  # Monday 2nd and Saturday 7th; on the 9th it ends before opening
    )
