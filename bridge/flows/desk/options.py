"""The `service-desk` route's options, declared once and checked with every problem at once.

Defaults follow the Ops Manual: triage within 15 minutes (5.17), a warning at three quarters of the resolution
time, the major-incident cadence of 5.19.1 (initial notification within 15 minutes, regular updates every 30
minutes to 1 hour, the post-incident review within 24 hours of resolution).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bridge.errors import ConfigError
from bridge.mappings.calendar import REGIONS
from bridge.mappings.dsl.conditions import Condition
from bridge.validation import problems

TriageMet = Literal["in_progress", "assigned", "categorised"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class States(_Strict):
    """The record's state values: new (triage not done), on hold (clock paused), done (clock stopped).
    Defaults are the incident table's; a case table names its own (e.g. hold ``["18"]``, done ``["6","3","7"]``)."""

    new: list[str] = Field(default_factory=lambda: ["1"])
    hold: list[str] = Field(default_factory=lambda: ["3"])
    done: list[str] = Field(default_factory=lambda: ["6", "7", "8"])
    resolved: list[str] = Field(default_factory=lambda: ["6", "7"], description="done, and not cancelled")


def _default_met_by() -> list[TriageMet]:
    return ["in_progress", "assigned"]


class Triage(_Strict):
    minutes: float = Field(15, gt=0, description="Ops Manual 5.17: assessed and categorised within 15 minutes")
    met_by: list[TriageMet] = Field(default_factory=_default_met_by, min_length=1)
    warn_share: float | None = Field(None, gt=0, lt=1)


class Calendar(_Strict):
    """Which nation's bank holidays a record's core-hours clock observes: by the value of ``region_field``."""

    region_field: str = "company"
    regions: dict[str, list[str]] = Field(default_factory=dict, description="e.g. {SCT: [<company sys_id or name>]}")

    @field_validator("regions")
    @classmethod
    def _known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = sorted(set(value) - set(REGIONS))
        if bad:
            raise ValueError(f"unknown region(s) {bad}; known: {', '.join(REGIONS)}")
        return value

    def region_of(self, value: str) -> str:
        return next((region for region, values in self.regions.items() if value in values), "ENG")


class Distribution(_Strict):
    """Where the major-incident distribution list lives in ServiceNow (Ops Manual 5.19): the members of a group,
    or the rows of a table (``email_field``, only rows whose ``active_field`` is true)."""

    group: str | None = Field(None, description="sys_user_group name")
    table: str | None = None
    email_field: str = "email"
    active_field: str | None = "active"

    @model_validator(mode="after")
    def _one(self) -> Distribution:
        if (self.group is None) == (self.table is None):
            raise ValueError("name exactly one of `group` or `table`")
        return self


class Pir(_Strict):
    remind_after_hours: float = Field(2, ge=0, le=24, description="5.23: assemble the stakeholders within 2 hours")
    due_hours: float = Field(24, gt=0, description="5.19.1: within 24 hours after resolution")


class Circular(_Strict):
    """The industry circular (5.20): for incidents marked for circulation, a public status entry and an email."""

    when: Condition
    to: list[str] = Field(min_length=1)
    service_field: str = Field("business_service", description="the affected service named in the public entry")


class MajorIncident(_Strict):
    rules: list[Condition] = Field(min_length=1, description="any rule holding declares a major incident")
    email_target: str
    distribution: Distribution | None = None
    fallback: list[str] = Field(min_length=1, description="used when ServiceNow's list is empty or unreadable")
    update_minutes: float = Field(30, ge=30, le=60)
    late_after_minutes: float = Field(2, gt=0, description="a message sent this long after its slot says it is late")
    impact_field: str = "impact"
    pir: Pir = Field(default_factory=Pir)  # type: ignore[arg-type]
    circular: Circular | None = None
    status_page_url: str | None = None
    portal_url_template: str = "https://support.elexon.co.uk/nav_to.do?uri={table}.do?sys_id={sys_id}"


class DeskOptions(_Strict):
    table: str = "incident"
    poll: dict[str, object] | None = None
    push_secret: str | None = None
    ticks: bool = Field(True, description="a tick a minute; tests turn it off and ingest ticks for chosen times")
    states: States = Field(default_factory=States)
    triage: Triage = Field(default_factory=Triage)  # type: ignore[arg-type]
    warn_share: float = Field(0.75, gt=0, lt=1, description="warn at this share of the resolution time")
    group_field: str = "assignment_group"
    calendar: Calendar = Field(default_factory=Calendar)
    major_incident: MajorIncident | None = None


def parse_options(route: str, raw: dict[str, object]) -> DeskOptions:
    """The options, or ConfigError naming each problem under ``routes.<route>.options``."""
    try:
        return DeskOptions.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems(exc, f"routes.{route}.options")) from None
