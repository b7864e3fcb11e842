"""The parties of the directory: channel, value maps, the protocol's per-party settings (CPSD 7.1, 7.2; Ops Manual
18.5 and Appendix H).

Each party nominates its channel (``servicenow``, ``jira`` or ``email``) through a configured target of
``bridge.yaml`` (endpoint and credentials live there, by ``${ENV}``), or none at all: a party whose channel is not
agreed is listed (its contacts and hours as the manual gives them) but never e-bonded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.partners.hours import CORE_HOURS, Hours, OutOfHours

#: the symbolic states of our case that a partner's state maps to (see docs/ebonding.md)
OUR_STATES = ("hold", "open", "resolved")
Channel = Literal["servicenow", "jira", "email"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class Closure(_Strict):
    """What our resolve, close and cancel write on the party's ticket (CPSD 8: closure reaches every party).

    ServiceNow: ``state.outbound`` gives the ``resolve`` / ``close`` / ``cancel`` state values, and the incident
    data policy wants a resolution code and notes (``code_field`` / ``notes_field``). Jira: the state values are
    status names reached by a transition, and the code is the transition's resolution."""

    code_field: str = "close_code"
    notes_field: str = "close_notes"
    resolve_code: str = "Closed/Resolved by Caller"
    cancel_code: str | None = None


class NotOurs(_Strict):
    """Their answers that send our case back to triage (CPSD 2(c)(a)): a cancel, or a resolution code saying the
    case was raised to them in error. ``code_field`` is read from their record (Jira: the resolution)."""

    states: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    code_field: str = "close_code"

    @field_validator("states", "codes", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


class Inbound(_Strict):
    """How the party marks a case it raises to Elexon (CPSD 7.2): a field of its record with a value (Jira
    ``labels`` holds it among others), or, for an email desk, the addresses it writes from."""

    field: str | None = None
    value: str | None = None
    addresses: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pair(self) -> Inbound:
        if (self.field is None) != (self.value is None):
            raise ValueError("inbound needs both field and value (or neither)")
        return self


def _default_state_map() -> ValueMap:
    # a ServiceNow incident desk: New/In Progress/On Hold -> ours waits; Resolved/Closed -> ours resolved
    return ValueMap(
        outbound={"reopen": "2", "resolve": "6", "close": "7", "cancel": "8"},
        inbound={"1": "hold", "2": "hold", "3": "hold", "6": "resolved", "7": "resolved"},
    )


def _jira_state_map() -> ValueMap:
    # the service-desk workflow: open statuses -> ours waits; Resolved/Closed -> ours resolved (by status name)
    waiting = ("Waiting for support", "In Progress", "Waiting for customer", "Pending")
    inbound = {**dict.fromkeys(waiting, "hold"), "Resolved": "resolved", "Closed": "resolved"}
    outbound = {"reopen": "Waiting for support", "resolve": "Resolved", "close": "Closed", "cancel": "Resolved"}
    return ValueMap(outbound=outbound, inbound=inbound)


def _jira_priority_map() -> ValueMap:
    # Jira priorities are names; ours are 1-4
    names = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low"}
    return ValueMap(outbound=names, inbound={**{v: k for k, v in names.items()}, "Lowest": "4"})


class Partner(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1)
    organisation: str | None = Field(None, description="its key in the participant registry (accounts.yaml)")
    source: str | None = Field(None, description="where the entry comes from, e.g. Ops Manual Appendix H")
    market_participant_ids: list[str] = Field(default_factory=list)
    role: str | None = Field(None, description="e.g. REC Code Manager, Switching Operator, LDSO, Supplier")
    services: list[str] = Field(default_factory=list, description="what it covers, as the source writes it")
    categories: list[str] = Field(default_factory=list, description="our case categories routed to this party")
    contact: str | None = Field(None, description="contact details as the source writes them")
    channel: Channel | None = Field(None, description="null: no agreed channel; listed, never e-bonded")
    target: str | None = Field(None, description="a target of bridge.yaml of the channel's kind")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    table: str = Field("incident", description="the partner's table (servicenow channel)")
    state: ValueMap = Field(default_factory=_default_state_map)
    priority: ValueMap = Field(default_factory=ValueMap)
    closure: Closure = Field(default_factory=Closure)
    not_ours: NotOurs = Field(default_factory=lambda: NotOurs(states=["8"]))
    inbound: Inbound | None = None
    hours: Hours | None = None
    out_of_hours: OutOfHours = Field(default_factory=OutOfHours)
    response_minutes: int | None = Field(None, ge=1, description="business minutes to acknowledge; null: no clock")
    resolution_notes_field: str = "close_notes"
    notes: str | None = None

    @model_validator(mode="after")
    def _channel_needs(self) -> Partner:
        if self.channel is not None and not self.target:
            raise ValueError(f"a {self.channel} partner needs a target")
        if self.channel == "email" and not self.email:
            raise ValueError("an email partner needs an email address")
        if self.channel == "jira":
            self._jira_defaults()
        bad = sorted(v for v in self.state.inbound.values() if v not in OUR_STATES)
        if bad:
            raise ValueError(f"state.inbound values must be one of {', '.join(OUR_STATES)}; not {bad}")
        return self

    def _jira_defaults(self) -> None:
        """Jira speaks status, priority and resolution names: its own defaults for what is not given."""
        given = self.model_fields_set
        if "state" not in given:
            self.state = _jira_state_map()
        if "priority" not in given:
            self.priority = _jira_priority_map()
        if "closure" not in given:
            self.closure = Closure(code_field="resolution", resolve_code="Done", cancel_code="Won't Do")
        if "not_ours" not in given:
            self.not_ours = NotOurs(codes=["Declined"], code_field="resolution")

    @property
    def clock(self) -> Hours:
        """The hours its response clock runs on (the core hours when the directory does not state them)."""
        return self.hours or CORE_HOURS

    @property
    def e_bonded(self) -> bool:
        """Whether cases can cross to it: a channel is agreed."""
        return self.channel is not None

    @property
    def via(self) -> str:
        """Its target (e-bonded parties only: the flow never plans for one without a channel)."""
        if self.target is None:
            raise ValueError(f"partner {self.key} has no agreed channel")
        return self.target

    @property
    def kind(self) -> Channel:
        """Its channel (e-bonded parties only)."""
        if self.channel is None:
            raise ValueError(f"partner {self.key} has no agreed channel")
        return self.channel

    @property
    def inbound_addresses(self) -> set[str]:
        """The sender addresses a case it raises by email comes from (lower case)."""
        found = list(self.inbound.addresses) if self.inbound else []
        if self.email and self.channel == "email":
            found.append(self.email)
        return {a.strip().lower() for a in found if a.strip()}

    def covers_now(self, moment: datetime, priority: int | None) -> bool:
        """In hours, or out of hours for a priority the desk covers out of hours."""
        return self.clock.in_hours(moment) or (priority is not None and priority in self.out_of_hours.priorities)


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

    def by_category(self, category: str) -> list[Partner]:
        """The e-bonded parties that cover one of our case categories (routing by category)."""
        wanted = category.strip().casefold()
        return [p for p in self.partners if p.e_bonded and wanted in {c.casefold() for c in p.categories}]

    def by_sender(self, address: str) -> Partner | None:
        """The email desk a case-raising mail comes from (its address or its inbound addresses)."""
        wanted = address.strip().lower()
        found = [p for p in self.partners if wanted and wanted in p.inbound_addresses]
        return found[0] if len(found) == 1 else None
