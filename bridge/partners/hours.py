"""A desk's hours of cover and out-of-hours contact, as the Ops Manual's Appendix H gives them, and the clock that
counts a desk's response time on them (CPSD 2(a): "each service owner will operate their own ... service levels,
hours of operation").

Appendix H writes hours as prose ("Mon - Fri 08:00 to 18:00 24x7 for P1 & P2", "08.30 to 16.30"); the directory
keeps that text as written (``as_written``) and the parts it states as data. What it does not state stays unset:
``days: null`` where the manual gives times but no days (the clock then counts Monday to Friday, the bridge's
default, and ``bridge partners check`` says so), no ``hours`` at all where the manual gives none (the clock then
counts the core hours of Ops Manual 2.3.1, 08:30-17:30 Monday to Friday).
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.mappings.calendar import BusinessCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: the days the clock counts when a desk's days are not stated
DEFAULT_DAYS = DAYS[:5]


class Hours(BaseModel):
    """Hours of cover: ``24x7: true``, or a daily window (``start``-``end``) in the desk's time zone."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    timezone: str = "Europe/London"
    days: list[str] | None = Field(None, description="null: not stated (the clock counts mon-fri)")
    start: time | None = None
    end: time | None = None
    always: bool = Field(False, alias="24x7")
    bank_holidays_observed: bool = Field(True, description="closed on England & Wales bank holidays")
    as_written: str | None = Field(None, description="the hours as the source document writes them")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        days = [d.lower()[:3] for d in value]
        bad = [d for d in value if d.lower()[:3] not in DAYS]
        if bad or not days:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAYS)}; not {bad}")
        return days

    @model_validator(mode="after")
    def _window(self) -> Hours:
        if self.always:
            return self
        if self.start is None or self.end is None:
            raise ValueError("hours need start and end (or 24x7: true)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def open_days(self) -> tuple[str, ...]:
        return tuple(self.days) if self.days is not None else DEFAULT_DAYS

    @property
    def calendar(self) -> BusinessCalendar:
        """These hours as the bridge's one business-time calendar (the desk's core hours use it too)."""
        if self.always:
            return BusinessCalendar(zone=self.timezone, always=True)
        assert self.start is not None and self.end is not None
        return BusinessCalendar(
            zone=self.timezone,
            days=tuple(DAYS.index(d) for d in self.open_days),
            start=self.start,
            end=self.end,
            region="ENG" if self.bank_holidays_observed else None,
        )

    def in_hours(self, moment: datetime) -> bool:
        """Whether the desk is staffed at ``moment`` (an aware datetime)."""
        return self.calendar.in_hours(moment)

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Minutes of cover between two aware datetimes (the partner's response clock)."""
        return self.calendar.business_time(start, end).total_seconds() / 60

    def text(self) -> str:
        """For people: `24x7`, or `mon,tue,... 09:00-17:00 Europe/London`."""
        if self.always:
            return "24x7"
        assert self.start is not None and self.end is not None
        return f"{','.join(self.open_days)} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"


#: Ops Manual 2.3.1, core hours: the clock of a desk whose hours the directory does not state
CORE_HOURS = Hours.model_validate({"start": "08:30", "end": "17:30", "days": list(DEFAULT_DAYS)})


class OutOfHours(BaseModel):
    """Who to call out of hours, as written, and the priorities the desk covers then (its clock never stops)."""

    model_config = ConfigDict(extra="forbid")

    contact: str | None = None
    priorities: list[int] = Field(default_factory=list, description="priorities covered out of hours, e.g. [1, 2]")
