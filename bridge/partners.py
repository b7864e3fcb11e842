"""The partner directory: the other parties' service desks the bridge raises cases to (CPSD 7.1, Ops Manual 3.11
and Appendix H), loaded from ``config/partners.yaml`` and checked with every problem named by ``file:line``.

Each party nominates its channel (``servicenow``, ``jira`` or ``email``) through a configured target of
``bridge.yaml`` (endpoint and credentials live there, by ``${ENV}``), its value maps (our state and priority to
theirs and back), its hours of cover and out-of-hours contact, and the minutes it has to respond.

    directory = load_partners("config/partners.yaml")
    directory["dcc"].hours.in_hours(datetime.now(UTC))
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bridge.errors import ConfigError
from bridge.mappings.calendar import BusinessCalendar
from bridge.validation import index_lines, where

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: the symbolic states of our case that a partner's state maps to (see docs/ebonding.md)
OUR_STATES = ("hold", "open", "resolved")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hours(_Strict):
    """Hours of cover: ``24x7: true``, or days with a start and end in the desk's time zone."""

    timezone: str = "Europe/London"
    days: list[str] = Field(default_factory=lambda: list(DAYS[:5]))
    start: time = time(9, 0)
    end: time = time(17, 0)
    always: bool = Field(False, alias="24x7")
    bank_holidays_observed: bool = Field(True, description="closed on England & Wales bank holidays")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] for d in value]
        bad = [d for d in value if d.lower()[:3] not in DAYS]
        if bad or not days:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAYS)}; not {bad}")
        return days

    @model_validator(mode="after")
    def _window(self) -> Hours:
        if not self.always and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def calendar(self) -> BusinessCalendar:
        """These hours as the bridge's one business-time calendar (the desk's core hours use it too)."""
        return BusinessCalendar(
            zone=self.timezone,
            days=tuple(DAYS.index(d) for d in self.days),
            start=self.start,
            end=self.end,
            region="ENG" if self.bank_holidays_observed else None,
            always=self.always,
        )

    def in_hours(self, moment: datetime) -> bool:
        """Whether the desk is staffed at ``moment`` (an aware datetime)."""
        return self.calendar.in_hours(moment)

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Minutes of cover between two aware datetimes (the partner's response clock)."""
        return self.calendar.business_time(start, end).total_seconds() / 60


class OutOfHours(_Strict):
    contact: str | None = None
    priorities: list[int] = Field(default_factory=list, description="priorities covered out of hours, e.g. [1, 2]")


class ValueMap(_Strict):
    """``outbound``: our value -> theirs; ``inbound``: theirs -> ours."""

    outbound: dict[str, str] = Field(default_factory=dict)
    inbound: dict[str, str] = Field(default_factory=dict)

    @field_validator("outbound", "inbound", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


def _default_state_map() -> ValueMap:
    # a ServiceNow incident desk: New/In Progress/On Hold -> ours waits; Resolved/Closed -> ours resolved
    return ValueMap(
        outbound={"reopen": "2"},
        inbound={"1": "hold", "2": "hold", "3": "hold", "6": "resolved", "7": "resolved", "8": "resolved"},
    )


def _jira_state_map() -> ValueMap:
    # the service-desk workflow: open statuses -> ours waits; Resolved/Closed -> ours resolved (by status name)
    waiting = ("Waiting for support", "In Progress", "Waiting for customer", "Pending")
    inbound = {**dict.fromkeys(waiting, "hold"), "Resolved": "resolved", "Closed": "resolved"}
    return ValueMap(outbound={"reopen": "Waiting for support"}, inbound=inbound)


def _jira_priority_map() -> ValueMap:
    # Jira priorities are names; ours are 1-4
    names = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low"}
    return ValueMap(outbound=names, inbound={**{v: k for k, v in names.items()}, "Lowest": "4"})


class Partner(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1)
    market_participant_ids: list[str] = Field(default_factory=list)
    role: str = Field(min_length=1, description="e.g. REC Code Manager, Switching Operator, LDSO, Supplier")
    channel: Literal["servicenow", "jira", "email"]
    target: str = Field(min_length=1, description="a target of bridge.yaml of the channel's kind")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    table: str = Field("incident", description="the partner's table (servicenow channel)")
    state: ValueMap = Field(default_factory=_default_state_map)
    priority: ValueMap = Field(default_factory=ValueMap)
    hours: Hours = Field(default_factory=Hours)  # type: ignore[arg-type]
    out_of_hours: OutOfHours = Field(default_factory=OutOfHours)
    response_minutes: int = Field(60, ge=1, description="business minutes to acknowledge a raised case")
    resolution_notes_field: str = "close_notes"

    @model_validator(mode="after")
    def _channel_needs(self) -> Partner:
        if self.channel == "email" and not self.email:
            raise ValueError("an email partner needs an email address")
        if self.channel == "jira":  # Jira speaks status and priority names: its own defaults
            if "state" not in self.model_fields_set:
                self.state = _jira_state_map()
            if "priority" not in self.model_fields_set:
                self.priority = _jira_priority_map()
        bad = sorted(v for v in self.state.inbound.values() if v not in OUR_STATES)
        if bad:
            raise ValueError(f"state.inbound values must be one of {', '.join(OUR_STATES)}; not {bad}")
        return self

    def covers_now(self, moment: datetime, priority: int | None) -> bool:
        """In hours, or out of hours for a priority the desk covers out of hours."""
        return self.hours.in_hours(moment) or (priority is not None and priority in self.out_of_hours.priorities)


class Directory(_Strict):
    partners: list[Partner]

    @field_validator("partners")
    @classmethod
    def _unique(cls, partners: list[Partner]) -> list[Partner]:
        keys = [p.key for p in partners]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"partner keys must be unique; repeated: {', '.join(dupes)}")
        return partners

    def __getitem__(self, key: str) -> Partner:
        for partner in self.partners:
            if partner.key == key:
                return partner
        raise KeyError(key)

    def get(self, key: str) -> Partner | None:
        try:
            return self[key]
        except KeyError:
            return None

    def keys(self) -> list[str]:
        return [p.key for p in self.partners]


def load_partners(path: Path | str, *, target_kinds: dict[str, str] | None = None) -> Directory:
    """Load and validate the directory; ConfigError lists every problem with ``file:line``. With
    ``target_kinds`` (target name -> kind, from bridge.yaml), each partner's target must exist and fit its
    channel."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the partner directory: {exc.strerror}"]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {exc}"]) from exc
    lines = index_lines(node)
    problems: list[str] = []
    directory: Directory | None = None
    try:
        directory = Directory.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            dotted = ".".join(loc) or "(top level)"
            msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{_where(path, lines, loc)}: {dotted}: {msg}")
    if directory is not None and target_kinds is not None:
        for i, partner in enumerate(directory.partners):
            kind = target_kinds.get(partner.target)
            loc = ("partners", str(i), "target")
            if kind is None:
                problems.append(f"{_where(path, lines, loc)}: partners.{i}.target: no target {partner.target!r}")
            elif kind != partner.channel:
                problems.append(
                    f"{_where(path, lines, loc)}: partners.{i}.target: {partner.target!r} is a {kind} target, "
                    f"but the channel is {partner.channel}"
                )
    if problems or directory is None:
        raise ConfigError(problems)
    return directory


def _where(path: Path, lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> str:
    return where(path, lines, loc, default_line=1)
