"""Priority matrix (Ops Manual 3.8), resolution targets (3.10) and business time (2.3), on known dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.mappings.priority import (
    LONDON,
    Level,
    Priority,
    add_business_days,
    add_business_time,
    is_bank_holiday,
    is_business_day,
    is_core_hours,
    priority_for,
    resolution_target,
    sla_deadline,
)

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (H, H, Priority.P1),
        (M, H, Priority.P2),
        (L, H, Priority.P3),
        (H, M, Priority.P2),
        (M, M, Priority.P3),
        (L, M, Priority.P4),
        (H, L, Priority.P3),
        (M, L, Priority.P4),
        (L, L, Priority.P4),
    ],
)
def test_matrix_from_the_manual(impact: Level, urgency: Level, expected: Priority) -> None:
    assert priority_for(impact, urgency) is expected


def test_servicenow_numeric_values() -> None:
    assert [level.value for level in (H, M, L)] == [1, 2, 3]
    assert priority_for(3, 3).value == 4  # the manual has no P5
    assert priority_for("high", "High") is Priority.P1


@pytest.mark.parametrize("text", ["high", "HIGH", " High ", "1", "1 - High", "1-high"])
def test_level_parse_forms(text: str) -> None:
    assert Level.parse(text) is H


@pytest.mark.parametrize("value", ["huge", "2 - High", "4", "", 0, 4, True, None, 1.0])
def test_level_parse_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        Level.parse(value)


def test_resolution_targets() -> None:
    assert resolution_target(1).elapsed == timedelta(hours=6)
    assert resolution_target(Priority.P2).elapsed == timedelta(days=1)
    assert resolution_target(3).business_days == 5
    assert resolution_target(4).business_days == 20
    assert [resolution_target(p).text for p in Priority] == ["6 hours", "1 day", "5 business days", "20 business days"]


# --- calendar -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2025, 12, 25), True),
        (date(2025, 12, 26), True),
        (date(2026, 4, 3), True),  # Good Friday
        (date(2026, 4, 6), True),  # Easter Monday
        (date(2026, 12, 28), True),  # Boxing Day (substitute)
        (date(2026, 8, 31), True),  # Late Summer Bank Holiday (England, not Scotland's)
        (date(2026, 8, 3), False),  # Scotland's summer holiday is not England's
        (date(2026, 3, 17), False),  # St Patrick's Day: Northern Ireland only
        (date(2026, 4, 7), False),
    ],
)
def test_england_and_wales_bank_holidays(day: date, holiday: bool) -> None:
    assert is_bank_holiday(day) is holiday


def test_business_days() -> None:
    assert is_business_day(date(2026, 3, 2))  # Monday
    assert not is_business_day(date(2026, 3, 7))  # Saturday
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday


@pytest.mark.parametrize(
    ("moment", "core"),
    [
        (london(2026, 3, 2, 8, 29), False),
        (london(2026, 3, 2, 8, 30), True),
        (london(2026, 3, 2, 17, 29, 59), True),
        (london(2026, 3, 2, 17, 30), False),
        (london(2026, 3, 7, 10, 0), False),  # Saturday
        (london(2026, 4, 6, 10, 0), False),  # Easter Monday
        (london(2025, 12, 25, 10, 0), False),
        (utc(2026, 1, 5, 8, 30), True),  # GMT: UTC == London
        (utc(2026, 3, 30, 7, 30), True),  # BST: 07:30 UTC is 08:30 London
        (utc(2026, 3, 30, 7, 29), False),
        (utc(2026, 3, 30, 16, 29), True),
        (utc(2026, 3, 30, 16, 30), False),  # 17:30 BST
        (utc(2026, 10, 26, 8, 30), True),  # back on GMT after 25 Oct 2026
        (datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=-5))), True),  # 14:00 London
    ],
)
def test_core_hours(moment: datetime, core: bool) -> None:
    assert is_core_hours(moment) is core


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_core_hours(datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        sla_deadline(3, datetime(2026, 3, 2, 9, 0))


# --- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "opened", "due"),
    [
        # P1: six absolute hours, round the clock, across the spring-forward night
        (1, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 4, 0)),
        (1, london(2026, 3, 29, 0, 30), utc(2026, 3, 29, 6, 30)),
        # P2: 24 hours, weekends included
        (2, london(2026, 3, 6, 10, 0), utc(2026, 3, 7, 10, 0)),
        # P3: Monday 10:00 -> next Monday 10:00
        (3, london(2026, 3, 2, 10, 0), utc(2026, 3, 9, 10, 0)),
        # P3 across the BST switch: wall-clock 10:00 both ends, so 09:00 UTC at the end
        (3, london(2026, 3, 26, 10, 0), utc(2026, 4, 2, 9, 0)),
        # P3 across Easter 2026 (Good Friday 3 Apr, Easter Monday 6 Apr)
        (3, london(2026, 4, 2, 12, 0), utc(2026, 4, 13, 11, 0)),
        # P3 across Christmas, Boxing Day and New Year 2025/26
        (3, london(2025, 12, 24, 12, 0), utc(2026, 1, 5, 12, 0)),
        # P3 opened on a Saturday: the clock starts Monday 08:30, five core days end Friday 17:30
        (3, london(2026, 3, 7, 11, 0), utc(2026, 3, 13, 17, 30)),
        # P3 opened at 17:30 exactly: nothing left that day
        (3, london(2026, 3, 6, 17, 30), utc(2026, 3, 13, 17, 30)),
        # P4: 20 business days from Monday 1 June 2026 09:00 BST
        (4, london(2026, 6, 1, 9, 0), utc(2026, 6, 29, 8, 0)),
    ],
)
def test_sla_deadline(priority: int, opened: datetime, due: datetime) -> None:
    result = sla_deadline(priority, opened)
    assert result == due and result.tzinfo is UTC


def test_one_business_day_over_christmas_2026() -> None:
    # Thu 24 Dec 12:00 -> Fri 25 (Christmas), Mon 28 (Boxing Day substitute) skipped -> Tue 29 12:00
    assert add_business_days(london(2026, 12, 24, 12, 0), 1) == utc(2026, 12, 29, 12, 0)


def test_business_time_within_one_day_and_evenings() -> None:
    assert add_business_time(london(2026, 3, 2, 9, 0), timedelta(hours=2)) == utc(2026, 3, 2, 11, 0)
    assert add_business_time(london(2026, 3, 2, 16, 30), timedelta(hours=2)) == utc(2026, 3, 3, 9, 30)
    assert add_business_time(london(2026, 3, 2, 20, 0), timedelta(0)) == utc(2026, 3, 3, 8, 30)
    assert add_business_time(london(2026, 3, 2, 10, 0), timedelta(0)) == utc(2026, 3, 2, 10, 0)


def test_negative_business_time_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(london(2026, 3, 2, 9, 0), timedelta(minutes=-1))


MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(MOMENTS, st.integers(min_value=0, max_value=60 * 9 * 25))
def test_business_time_lands_in_core_hours_and_is_monotonic(start: datetime, minutes: int) -> None:
    end = add_business_time(start, timedelta(minutes=minutes))
    local = end.astimezone(LONDON)
    assert end >= start
    assert is_core_hours(end) or (local.hour, local.minute) == (17, 30)
    later = add_business_time(start, timedelta(minutes=minutes + 1))
    assert later > end


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.integers(min_value=1, max_value=30))
def test_business_days_are_additive(start: datetime, days: int) -> None:
    """n days then m days equals n+m days (when the split point is a core-hours instant)."""
    first = add_business_days(start, days)
    if is_core_hours(first):
        assert add_business_days(first, 3) == add_business_days(start, days + 3)
