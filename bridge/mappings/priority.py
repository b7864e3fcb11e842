"""Priority and resolution targets from the Operations Manual (3.8 matrix, 3.10 service levels, 2.3 hours).

The matrix (rows urgency, columns impact) as the manual prints it::

                    Impact High   Impact Medium   Impact Low
    Urgency High    P1 6 hours    P2 1 day        P3 5 days
    Urgency Medium  P2 1 day      P3 5 days       P4 20 days
    Urgency Low     P3 5 days     P4 20 days      P4 20 days

ServiceNow stores impact and urgency as 1 (High), 2 (Medium), 3 (Low) and priority as 1-5; the manual has
no P5, so Low/Low is P4 (4), not ServiceNow's out-of-the-box 5 (Planning).

Clock rules (choices where the manual is terse):

* P1 (6 hours) and P2 (1 day) are elapsed time, round the clock: the desk is 24/7/365 (3.1) and critical
  incident management continues out of hours (2.3.2). "1 Day" is 24 hours; the manual says "Business Days"
  only for P3 and P4.
* P3 and P4 count business days: Monday to Friday, not an England & Wales bank holiday, and one business
  day is one core day, 08:30-17:30 Europe/London (2.3.1), so "5 business days" is 45 core hours. An
  incident opened Monday 10:00 is due the next Monday 10:00; one opened on a Saturday starts the clock
  at 08:30 on the next business day.
* Core hours are wall-clock London time, so they move with BST; elapsed targets are absolute time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from bridge.mappings.calendar import CORE_HOURS, core_hours

LONDON = ZoneInfo("Europe/London")
CORE_START = CORE_HOURS.start
CORE_END = CORE_HOURS.end
CORE_DAY = timedelta(hours=9)


class Level(IntEnum):
    """Impact or urgency, valued as ServiceNow stores them."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @classmethod
    def parse(cls, value: object) -> Level:
        """Accept a Level, 1-3, "High"/"medium", or ServiceNow's display form "1 - High"."""
        if isinstance(value, Level):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3):
            return cls(value)
        if isinstance(value, str):
            return cls._parse_text(value)
        raise ValueError(f"not an impact/urgency level: {value!r}")

    @classmethod
    def _parse_text(cls, text: str) -> Level:
        match = re.fullmatch(r"\s*(?:([123])\s*(?:-\s*)?)?([A-Za-z]*)\s*", text)
        if match:
            digit, word = match.groups()
            if word and word.upper() in cls.__members__:
                named = cls[word.upper()]
                if digit is None or int(digit) == named.value:
                    return named
            elif digit and not word:
                return cls(int(digit))
        raise ValueError(f"not an impact/urgency level: {text!r} (use high, medium or low)")

    @property
    def label(self) -> str:
        """The word the manual uses: High, Medium or Low."""
        return self.name.capitalize()


class Priority(IntEnum):
    """The manual's P1-P4, valued as ServiceNow's numeric priority."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4

    @property
    def label(self) -> str:
        """The label as the manual writes it: P1 to P4."""
        return self.name


_MATRIX: dict[tuple[Level, Level], Priority] = {
    (Level.HIGH, Level.HIGH): Priority.P1,
    (Level.HIGH, Level.MEDIUM): Priority.P2,
    (Level.HIGH, Level.LOW): Priority.P3,
    (Level.MEDIUM, Level.HIGH): Priority.P2,
    (Level.MEDIUM, Level.MEDIUM): Priority.P3,
    (Level.MEDIUM, Level.LOW): Priority.P4,
    (Level.LOW, Level.HIGH): Priority.P3,
    (Level.LOW, Level.MEDIUM): Priority.P4,
    (Level.LOW, Level.LOW): Priority.P4,
}


def priority_for(impact: Level | int | str, urgency: Level | int | str) -> Priority:
    """Priority from impact x urgency (manual 3.8); keys are (impact, urgency)."""
    return _MATRIX[(Level.parse(impact), Level.parse(urgency))]


@dataclass(frozen=True, slots=True)
class ResolutionTarget:
    """How long a priority has for a workaround or fix (manual 3.10)."""

    priority: Priority
    elapsed: timedelta | None = None
    business_days: int | None = None

    @property
    def text(self) -> str:
        """Human wording for notes and reports, e.g. "5 business days"."""
        if self.business_days is not None:
            return f"{self.business_days} business days"
        assert self.elapsed is not None
        hours = int(self.elapsed.total_seconds() // 3600)
        return "1 day" if hours == 24 else f"{hours} hours"


_TARGETS: dict[Priority, ResolutionTarget] = {
    Priority.P1: ResolutionTarget(Priority.P1, elapsed=timedelta(hours=6)),
    Priority.P2: ResolutionTarget(Priority.P2, elapsed=timedelta(days=1)),
    Priority.P3: ResolutionTarget(Priority.P3, business_days=5),
    Priority.P4: ResolutionTarget(Priority.P4, business_days=20),
}


def resolution_target(priority: Priority | int) -> ResolutionTarget:
    """The manual's resolution target for a priority (1-4)."""
    return _TARGETS[Priority(priority)]


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def is_bank_holiday(day: date, region: str = "ENG") -> bool:
    """True on a bank holiday of ``region`` (England & Wales by default), substitute days included."""
    return core_hours(region).is_holiday(day)


def is_business_day(day: date, region: str = "ENG") -> bool:
    """Monday to Friday and not a bank holiday (manual 2.3.1)."""
    return core_hours(region).is_open_day(day)


def is_core_hours(moment: datetime, region: str = "ENG") -> bool:
    """True within 08:30-17:30 London time on a business day (end exclusive)."""
    return core_hours(region).in_hours(moment)


def add_business_time(start: datetime, delta: timedelta, region: str = "ENG") -> datetime:
    """``start`` plus ``delta`` of core-hours time, skipping nights, weekends and bank holidays; UTC result
    (the one calendar: :class:`bridge.mappings.calendar.BusinessCalendar`)."""
    return core_hours(region).add(start, delta)


def add_business_days(start: datetime, days: int, region: str = "ENG") -> datetime:
    """``start`` plus whole business days, one business day being one core day (9 hours)."""
    return add_business_time(start, CORE_DAY * days, region)


def sla_deadline(priority: Priority | int, opened_at: datetime, region: str = "ENG") -> datetime:
    """When the manual's resolution target for ``priority`` falls due for an incident opened at ``opened_at``
    (nothing paused; the desk's running clock with On Hold pauses is :mod:`bridge.flows.desk.clock`)."""
    _require_aware(opened_at, "opened_at")
    target = resolution_target(priority)
    if target.business_days is not None:
        return add_business_days(opened_at, target.business_days, region)
    assert target.elapsed is not None
    return opened_at.astimezone(UTC) + target.elapsed


__all__ = [
    "CORE_DAY",
    "CORE_END",
    "CORE_START",
    "LONDON",
    "Level",
    "Priority",
    "ResolutionTarget",
    "add_business_days",
    "add_business_time",
    "is_bank_holiday",
    "is_business_day",
    "is_core_hours",
    "priority_for",
    "resolution_target",
    "sla_deadline",
]
