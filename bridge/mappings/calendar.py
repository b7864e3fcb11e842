"""The one business-time calendar of the bridge: the desk's core hours and every partner's hours of cover.

Ops Manual 2.3.1: "Core working hours are defined as 08.30 to 17.30, Monday to Friday (excluding Bank
Holidays)". The desk's resolution clock (3.10, "5 Business Days") and a partner's response clock (CPSD 7.1, hours
of cover) both count time inside such windows, so both use :class:`BusinessCalendar`: days of the week, a daily
window in a time zone, and the bank holidays of one UK nation (England & Wales by default; a party in Scotland
keeps Scotland's, ``holidays`` subdivision ``SCT``) or none.

Counting happens in the calendar's wall-clock time, window by window. A window never contains a GMT/BST switch
(they happen at 01:00 UTC on a Sunday), so a clock change neither adds nor loses an hour of business time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: the UK nations whose bank holidays a calendar may observe (``holidays`` GB subdivisions)
REGIONS = ("ENG", "NIR", "SCT", "WLS")
WEEKDAYS = (0, 1, 2, 3, 4)


@lru_cache(maxsize=128)
def bank_holidays(region: str, year: int) -> frozenset[date]:
    """One nation's bank holidays (substitute days included) for one year, cached: the lookup is hot."""
    return frozenset(holidays.country_holidays("GB", subdiv=region, years=year).keys())


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Open ``days`` (0 = Monday) from ``start`` to ``end`` in ``zone``, closed on ``region``'s bank holidays
    (None: none observed); ``always`` is round the clock (24x7)."""

    zone: str = "Europe/London"
    days: tuple[int, ...] = WEEKDAYS
    start: time = time(8, 30)
    end: time = time(17, 30)
    region: str | None = "ENG"
    always: bool = False

    def __post_init__(self) -> None:
        if self.region is not None and self.region not in REGIONS:
            raise ValueError(f"unknown bank-holiday region {self.region!r}; known: {', '.join(REGIONS)}")
        if not self.always and self.end <= self.start:
            raise ValueError("a business day must end after it starts")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def is_holiday(self, day: date) -> bool:
        """A bank holiday of the calendar's nation."""
        return self.region is not None and day in bank_holidays(self.region, day.year)

    def is_open_day(self, day: date) -> bool:
        """A working day: one of ``days`` and not a bank holiday."""
        return day.weekday() in self.days and not self.is_holiday(day)

    def in_hours(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware) falls inside a window (the end is exclusive)."""
        _require_aware(moment)
        if self.always:
            return True
        local = moment.astimezone(self.tz)
        return self.is_open_day(local.date()) and self.start <= local.time() < self.end

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing as aware datetimes in the calendar's zone."""
        return datetime.combine(day, self.start, self.tz), datetime.combine(day, self.end, self.tz)

    def windows(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open windows of every working day from ``start``'s date to ``end``'s (not clipped)."""
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            if self.is_open_day(day):
                yield self.window(day)
            day += timedelta(days=1)

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Open time between two aware datetimes (zero when ``end`` is not after ``start``)."""
        _require_aware(start)
        _require_aware(end)
        if end <= start:
            return timedelta(0)
        if self.always:
            return end - start
        total = timedelta(0)
        for open_at, close_at in self.windows(start, end):
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += hi - lo
        return total

    def next_open(self, moment: datetime) -> datetime:
        """The first open instant at or after ``moment`` (in the calendar's zone)."""
        local = moment.astimezone(self.tz)
        if self.always:
            return local
        day = local.date()
        if self.is_open_day(day) and local < self.window(day)[1]:
            return max(local, self.window(day)[0])
        day += timedelta(days=1)
        for _ in range(3660):  # ten years of closed days would be a configuration error
            if self.is_open_day(day):
                return self.window(day)[0]
            day += timedelta(days=1)
        raise ValueError("the calendar has no open day in ten years")

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """``start`` plus ``delta`` of open time, skipping closed hours, days and bank holidays; UTC result."""
        _require_aware(start)
        if delta < timedelta(0):
            raise ValueError("delta must not be negative")
        if self.always:
            return start.astimezone(UTC) + delta
        cursor, remaining = self.next_open(start), delta
        while True:
            close = self.window(cursor.date())[1]
            if remaining <= close - cursor:
                return (cursor + remaining).astimezone(UTC)
            remaining -= close - cursor
            cursor = self.next_open(close)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is needed, got naive {moment.isoformat()}")


#: the desk's core hours (Ops Manual 2.3.1), England & Wales bank holidays
CORE_HOURS = BusinessCalendar()


def core_hours(region: str = "ENG") -> BusinessCalendar:
    """The core-hours calendar observing ``region``'s bank holidays (a party in Scotland: ``SCT``)."""
    return CORE_HOURS if region == "ENG" else BusinessCalendar(region=region)


__all__ = ["CORE_HOURS", "REGIONS", "BusinessCalendar", "bank_holidays", "core_hours"]
