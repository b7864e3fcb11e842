"""What the link table remembers about one coalescing group, and the actions a decision asks for.

Both are plain frozen data so the lifecycle stays a pure function: (alert, state, now, config) ->
(actions, new state). ``IncidentState.to_dict`` / ``from_dict`` give a JSON-safe form for the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal

MAX_INSTANCES = 100
MAX_COALESCED_KEYS = 50


@dataclass(frozen=True, slots=True)
class InstanceState:
    """One alert instance (correlation key) seen in the group: when it fired and whether it cleared."""

    key: str
    fired_at: datetime
    resolved_at: datetime | None = None

    @property
    def firing(self) -> bool:
        """Still firing: no Resolved seen for it."""
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class IncidentState:
    """The link-table record of a group: its incident and the counters the lifecycle needs.

    ``has_incident`` False is a tombstone: a Resolved arrived for an alert never seen firing, and the
    record only exists so the late Fired can be recognised as stale. ``incident_sys_id`` /
    ``incident_number`` are filled in by the caller once ServiceNow has created the incident.
    ``resolved_at`` is when the alert cleared (alert time) for the current incident, None while open.
    """

    group_key: str
    correlation_key: str
    has_incident: bool = True
    incident_sys_id: str | None = None
    incident_number: str | None = None
    is_open: bool = True
    generation: int = 1
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    last_fired_at: datetime | None = None
    last_resolved_at: datetime | None = None
    occurrence_count: int = 0
    flap_count: int = 0
    flap_window_start: datetime | None = None
    flapping: bool = False
    note_window_start: datetime | None = None
    notes_in_window: int = 0
    unnoted: int = 0
    instances: tuple[InstanceState, ...] = ()
    coalesced_keys: tuple[str, ...] = ()

    def instance(self, key: str) -> InstanceState | None:
        """The remembered instance with this correlation key, if any."""
        return next((item for item in self.instances if item.key == key), None)

    @property
    def firing_instances(self) -> tuple[InstanceState, ...]:
        """Instances with no Resolved yet."""
        return tuple(item for item in self.instances if item.firing)

    def with_instance(self, updated: InstanceState) -> IncidentState:
        """A copy with ``updated`` replacing (or added as) the instance of its key, capped in size."""
        others = [item for item in self.instances if item.key != updated.key]
        return replace(self, instances=_capped([*others, updated]))

    def with_coalesced(self, key: str) -> IncidentState:
        """A copy that remembers ``key`` as coalesced into this incident (the most recent 50 are kept)."""
        if key == self.correlation_key or key in self.coalesced_keys:
            return self
        return replace(self, coalesced_keys=(*self.coalesced_keys, key)[-MAX_COALESCED_KEYS:])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (ISO timestamps) for the store."""
        # field by field rather than dataclasses.asdict, which deep-copies every value first (the planner
        # stores this for every alert)
        out = {name: _to_json(getattr(self, name)) for name in _FIELD_NAMES}
        out["instances"] = [
            {"key": item.key, "fired_at": _to_json(item.fired_at), "resolved_at": _to_json(item.resolved_at)}
            for item in self.instances
        ]
        out["coalesced_keys"] = list(self.coalesced_keys)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncidentState:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so older rows still load."""
        known = {item.name for item in fields(cls)}
        values = {key: _from_json(key, value) for key, value in data.items() if key in known}
        values["instances"] = tuple(_instance(item) for item in data.get("instances", ()))
        values["coalesced_keys"] = tuple(data.get("coalesced_keys", ()))
        return cls(**values)


def _instance(item: Mapping[str, Any]) -> InstanceState:
    fired_at = _parse(item["fired_at"])
    if fired_at is None:
        raise ValueError("stored instance has no fired_at")
    return InstanceState(str(item["key"]), fired_at, _parse(item.get("resolved_at")))


def _capped(instances: list[InstanceState]) -> tuple[InstanceState, ...]:
    """Keep at most MAX_INSTANCES, forgetting the oldest resolved ones first (firing ones decide resolves)."""
    while len(instances) > MAX_INSTANCES:
        resolved = next((index for index, item in enumerate(instances) if not item.firing), 0)
        del instances[resolved]
    return tuple(instances)


_FIELD_NAMES = tuple(item.name for item in fields(IncidentState) if item.name not in ("instances", "coalesced_keys"))


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return value


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _from_json(key: str, value: Any) -> Any:
    if key.endswith("_at") or key.endswith("_start"):
        return _parse(value)
    return value


@dataclass(frozen=True, slots=True)
class Create:
    """Create an incident with these fields."""

    fields: Mapping[str, str]
    kind: Literal["create"] = "create"


@dataclass(frozen=True, slots=True)
class Note:
    """Add a work note to the group's incident."""

    text: str
    kind: Literal["note"] = "note"


@dataclass(frozen=True, slots=True)
class Resolve:
    """Add ``note`` as a work note and set ``fields`` (state 6, close code, close notes)."""

    note: str
    fields: Mapping[str, str]
    kind: Literal["resolve"] = "resolve"


@dataclass(frozen=True, slots=True)
class Reopen:
    """Put the resolved incident back in progress (``fields``) with ``note``."""

    note: str
    fields: Mapping[str, str]
    kind: Literal["reopen"] = "reopen"


@dataclass(frozen=True, slots=True)
class CreateLinked:
    """Create a new incident that refers to the previous one (resolved too long ago to reopen)."""

    fields: Mapping[str, str]
    previous_sys_id: str | None
    previous_number: str | None
    kind: Literal["create_linked"] = "create_linked"


@dataclass(frozen=True, slots=True)
class Ignore:
    """Nothing to send to ServiceNow; ``reason`` says why (for the audit log)."""

    reason: str
    kind: Literal["ignore"] = "ignore"


Action = Create | Note | Resolve | Reopen | CreateLinked | Ignore


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What to do for one alert, and the group state to store afterwards (store it even for ``ignore``)."""

    actions: tuple[Action, ...]
    state: IncidentState

    @property
    def kinds(self) -> tuple[str, ...]:
        """The action kinds in order, e.g. ``("reopen", "note")``."""
        return tuple(action.kind for action in self.actions)
