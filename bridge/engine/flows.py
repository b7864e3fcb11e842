"""Flows turn one inbox event into planned operations. A route = a flow kind + its options + a target.

A flow's `plan` is where a mapping is applied. It may read and write per-flow state through the
:class:`PlanContext` (e.g. "this alert already has an incident"); those writes commit in the same transaction
as the planned operations, so state and outbox never disagree, and nothing is written if planning fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import ConfigError, MappingError
from bridge.mappings.dsl import LiveFieldMap, apply_field_map
from bridge.store import Store, records
from bridge.store.inbox import InboxEvent


@dataclass(frozen=True)
class Planned:
    """One operation a flow wants performed. ``link`` is the source record (system, id) the target record
    is linked to: creates write the link, later operations find the target id through it."""

    action: str
    payload: dict[str, Any]
    target_key: str
    link: tuple[str, str] | None = None
    correlation: dict[str, Any] | None = None
    target: str | None = None
    delay: float = 0.0


@dataclass
class PlanContext:
    """What a flow may consult while planning: its own state, and links, inside the planning transaction."""

    conn: sa.Connection
    store: Store
    route: RouteSettings
    flow_name: str
    #: True when an admin replays stored events through today's mappings (see `bridge replay`): flows with
    #: lifecycle state re-send the mapped fields of the record instead of replaying its history
    replay: bool = False
    _writes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def state(self, key: str) -> dict[str, Any] | None:
        if key in self._writes:
            return self._writes[key]
        return records.get_flow_state(self.conn, self.flow_name, key)

    def set_state(self, key: str, value: dict[str, Any]) -> None:
        self._writes[key] = value

    def link(self, system: str, record_id: str, other_system: str) -> str | None:
        return records.find_link(self.conn, system, record_id, other_system)

    def commit_state(self) -> None:
        for key, value in self._writes.items():
            records.put_flow_state(self.conn, self.store, self.flow_name, key, value)
        self._writes.clear()


class Flow(Protocol):
    """Plans operations for one route's events."""

    version: str

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]: ...


class ForwardFlow:
    """Forwards each JSON event to an HTTP target, ordered per record: as it is, or reshaped by a field map.

    Options: ``path`` (where to POST, default ``/``), ``record_field`` (the payload field naming the record:
    its operations are delivered one at a time, in order), ``action`` (post, put or patch). The route's
    ``mapping`` may name a DSL field map in ``mappings_dir``: the body sent is then that map applied to the
    event (hot-reloaded; its file hash is the version each operation records).
    """

    def __init__(self, route: RouteSettings, fields: LiveFieldMap | None = None) -> None:
        self.route = route
        self.path = str(route.options.get("path", "/"))
        self.record_field = route.options.get("record_field")
        self.action = str(route.options.get("action", "post"))
        self.fields = fields
        self.version = fields.version if fields else _version(route.options)

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of the field map was refused (shown on the admin overview)."""
        return self.fields.reload_error if self.fields else None

    def reload_if_changed(self) -> None:
        if self.fields is not None:
            self.fields.reload_if_changed()
            self.version = self.fields.version

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        try:
            body = json.loads(event.payload)
        except json.JSONDecodeError as exc:
            raise MappingError(f"event {event.id} is not JSON: {exc}") from exc
        record = event.record_key or (str(body.get(self.record_field, "")) if self.record_field else "")
        key = f"{self.route.name}:{record or event.id}"
        return [Planned(action=self.action, payload={"path": self.path, "body": self.reshape(body)}, target_key=key)]

    def reshape(self, body: Any) -> Any:
        """The body to send: the event itself, or the field map applied to it (the live version)."""
        if self.fields is None:
            return body
        self.reload_if_changed()
        if not isinstance(body, Mapping):
            raise MappingError(f"{self.fields.label}: the event is not a JSON object, so no field map applies")
        return apply_field_map(self.fields.field_map, body, label=self.fields.label)


FlowFactory = Callable[[RouteSettings, BridgeConfig], Flow]


def _forward(route: RouteSettings, config: BridgeConfig) -> Flow:
    if route.mapping is None:
        return ForwardFlow(route)
    return ForwardFlow(route, LiveFieldMap(config.mappings_dir / f"{route.mapping}.yaml", route=route.name))


def _azure_alert(route: RouteSettings, config: BridgeConfig) -> Flow:
    from bridge.flows import azure_alert

    return azure_alert.build(route, config)


def _account_sync(route: RouteSettings, config: BridgeConfig) -> Flow:
    from bridge.flows import accounts

    return accounts.build(route, config)


def _partner_case(route: RouteSettings, config: BridgeConfig) -> Flow:
    from bridge.flows import partner

    return partner.build(route, config)


def _email_replies(route: RouteSettings, config: BridgeConfig) -> Flow:
    from bridge.flows import email_replies

    return email_replies.build(route, config)


#: route kind -> factory. Explicit, so a newcomer sees every flow the bridge has in one place.
FLOWS: dict[str, FlowFactory] = {
    "forward": _forward,
    "azure-alert": _azure_alert,
    "account-sync": _account_sync,
    "partner-case": _partner_case,
    "email-replies": _email_replies,
}


def build_flows(config: BridgeConfig, extra: Mapping[str, FlowFactory] | None = None) -> dict[str, Flow]:
    """One flow per enabled route; unknown kinds are a configuration error listing the known ones."""
    factories = {**FLOWS, **(extra or {})}
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for route in config.routes:
        factory = factories.get(route.kind)
        if factory is None:
            problems.append(f"routes.{route.name}.kind: unknown flow {route.kind!r}; known: {sorted(factories)}")
            continue
        flows[route.name] = factory(route, config)
    if problems:
        raise ConfigError(problems)
    return flows


def _version(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]
