"""The contract between the engine and the flows: a flow turns one inbox event into planned operations.

A route = a flow kind + its options + a target. The engine knows no concrete flow: the runtime builds them (from
the registry in :mod:`bridge.flows`) and hands them to the processor.

A flow's `plan` is where a mapping is applied. It may read and write per-flow state and links through the
:class:`PlanContext` (e.g. "this alert already has an incident"); those writes commit in the same transaction
as the planned operations, so state and outbox never disagree, and nothing is written if planning fails. A flow
that must see a system's current data reads it through ``ctx.reads`` (see :mod:`bridge.engine.reads`): the
processor makes those reads before the planning transaction, never inside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from bridge.config import RouteSettings
from bridge.engine.reads import NO_READS, Reads
from bridge.errors import InputError
from bridge.store import Store, clocks, links, records
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
    #: the mapping version to record on the operation when it is not the flow's own (an account sync run)
    version: str | None = None
    #: its outcome (done or dead-lettered) comes back to the route as an event of source ``outcome``
    report: bool = False
    #: another record's ``target_key`` whose earlier operations must finish first (a child after its parent)
    after: str | None = None


@dataclass
class PlanContext:
    """What a flow may consult while planning: its own state, links, and (through ``reads``) the systems' data
    fetched before planning. Writes are buffered and applied by :meth:`commit_state`, in the planning
    transaction; a pass that is not committed (the fetch pass, a dry run) leaves the store untouched."""

    conn: sa.Connection
    store: Store
    route: RouteSettings
    flow_name: str
    #: True when an admin replays stored events through today's mappings (see `bridge replay`): flows with
    #: lifecycle state re-send the mapped fields of the record instead of replaying its history
    replay: bool = False
    reads: Reads = NO_READS
    #: the time the flow plans at: the event's arrival, so both passes of a fetched event agree on it (and a
    #: test can set it)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _writes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _links: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _audits: list[dict[str, Any]] = field(default_factory=list)
    _effects: list[Callable[[], None]] = field(default_factory=list)
    #: why the plan sends nothing (see :meth:`ignore`), for the processor's `ignored` log line
    ignored: str | None = None

    def ignore(self, reason: str) -> list[Planned]:
        """Say why this event plans nothing (a Resolved for an alert never seen, a change with nothing to sync);
        the processor logs it with the event. Returns an empty plan, so a flow can ``return ctx.ignore(...)``."""
        self.ignored = reason
        return []

    def state(self, key: str) -> dict[str, Any] | None:
        if key in self._writes:
            return self._writes[key]
        return records.get_flow_state(self.conn, self.flow_name, key)

    def set_state(self, key: str, value: dict[str, Any]) -> None:
        self._writes[key] = value

    def states(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """Every state of this flow whose key starts with ``prefix`` (as this plan has them so far)."""
        stored = dict(records.flow_states(self.conn, self.flow_name, prefix=prefix))
        stored.update((k, v) for k, v in self._writes.items() if k.startswith(prefix))
        return sorted(stored.items())

    def due_states(self, prefix: str, upto: str) -> list[tuple[str, dict[str, Any]]]:
        """States under ``prefix`` whose top-level ``due`` (UTC ISO text) is at or before ``upto``, by an index
        (the desk clocks' ticks; at most 500 a call, the rest at the next tick)."""
        stored = dict(
            clocks.due_states(self.conn, self.flow_name, prefix=prefix, upto=upto, postgres=self.store.is_postgres)
        )
        for key, value in self._writes.items():
            if key.startswith(prefix):
                stored.pop(key, None)
                if value.get("due") and str(value["due"]) <= upto:
                    stored[key] = value
        return sorted(stored.items(), key=lambda item: str(item[1].get("due")))

    def link(self, system: str, record_id: str, other_system: str) -> str | None:
        if (system, record_id, other_system) in self._links:
            return self._links[(system, record_id, other_system)]
        return links.find_link(self.conn, system, record_id, other_system)

    def put_link(self, system: str, record_id: str, other_system: str, other_id: str) -> None:
        """Link a record to one the flow already knows on the other system (written with the plan)."""
        self._links[(system, record_id, other_system)] = other_id

    def audit(
        self, *, actor: str, action: str, subject: str | None = None, before: Any = None, after: Any = None
    ) -> None:
        """An audit entry written with the plan (a decision the flow made, who asked for what it does)."""
        self._audits.append({"actor": actor, "action": action, "subject": subject, "before": before, "after": after})

    def with_plan(self, effect: Callable[[], None]) -> None:
        """Run ``effect`` (a metric) only when the plan is kept, never in a fetch pass or a failed plan."""
        self._effects.append(effect)

    def commit_state(self) -> None:
        for (system, record_id, other_system), other_id in self._links.items():
            links.put_link(self.conn, self.store, (system, record_id, other_system), other_id)
        records.put_flow_states(self.conn, self.store, self.flow_name, self._writes)
        for entry in self._audits:
            records.write_audit(self.conn, route=self.route.name, **entry)
        for effect in self._effects:
            effect()
        self._writes.clear()
        self._links.clear()
        self._audits.clear()
        self._effects.clear()


class Flow(Protocol):
    """Plans operations for one route's events; an admin can reload and preview its mappings."""

    @property
    def version(self) -> str:
        """The version of the live mapping, recorded on each operation a plan leaves without its own (a flow
        whose mapping changes between plans sets each operation's version itself, so a new version taken right
        after a plan is never recorded on it)."""

    #: True when :meth:`plan` reads systems through ``ctx.reads`` (the processor fetches first)
    reads_systems: bool

    @property
    def previewable(self) -> bool:
        """True when :meth:`preview` can show what the live mapping gives for a sample."""

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]: ...

    def reload_if_changed(self) -> None:
        """Take a valid edit of the flow's mapping files (a refused edit keeps the previous version)."""

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of a mapping file was refused (the admin overview shows it), or None."""

    def preview(self, sample: Any) -> dict[str, Any] | None:
        """The fields the live mapping gives for ``sample`` (an inbound body: bytes, text or parsed JSON), or
        None when the flow has no mapping to preview. Raises InputError / MappingError for a sample it cannot
        map."""


def state_namespace(flow: Flow, route: RouteSettings) -> str:
    """Where a route's flow keeps its state: the flow's own ``state_namespace`` when it has one (a second route
    of a kind that must not share the first one's state), else the route's kind (routes of one kind that work
    together, such as the partner-case sides, share it)."""
    return getattr(flow, "state_namespace", None) or route.kind


class BaseFlow:
    """Defaults for the optional parts of :class:`Flow`: no systems read, nothing to reload or preview, state
    kept under the route's kind (a flow says its ``version`` itself)."""

    reads_systems = False
    state_namespace: str | None = None

    @property
    def previewable(self) -> bool:
        return False

    def reload_if_changed(self) -> None:
        return None

    @property
    def reload_error(self) -> str | None:
        return None

    def preview(self, sample: Any) -> dict[str, Any] | None:
        return None


def json_object(sample: Any) -> Mapping[str, Any]:
    """A preview sample as a JSON object (it may come as bytes, text or already parsed)."""
    try:
        data = sample if isinstance(sample, Mapping) else json.loads(sample)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", path="$") from exc
    if not isinstance(data, Mapping):
        raise InputError("expected a JSON object", path="$")
    return data


def event_time(event: InboxEvent) -> datetime:
    """When the event arrived: the time its planning takes as "now" (the same in both passes of a fetch)."""
    return datetime.fromtimestamp(event.received_at, UTC)


def version_of(data: Any) -> str:
    """A short stable hash of a flow's configuration, for flows whose mapping is their options."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]
