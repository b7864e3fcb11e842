"""What the planner produces: steps, each of which becomes exactly one outbox operation (one write)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.errors import ConfigError


class StepKind(StrEnum):
    """Why a record is written; the write itself is always one create or one update."""

    CREATE = "create"
    UPDATE = "update"
    REPARENT = "reparent"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"


@dataclass(frozen=True)
class FieldChange:
    """One field's change, for display: references show registry keys or names, not sys_ids."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Step:
    """One write to one ServiceNow record.

    ``sys_id`` is None for a create. ``fields`` are the values to send, except those in ``deferred``: they
    reference an account created earlier in the same plan (``parent_key``, a registry key), whose sys_id is
    only known once that create has run; :meth:`payload` fills them in. For accounts ``parent_key`` is the
    parent account, for contacts the contact's own account. ``key`` identifies the record across runs:
    the registry key for accounts, ``<account key>/<email>`` for contacts. ``correlation`` (account creates
    only: ``{table, field, value}`` on the key field) lets the adapter find the record an uncertain create
    may have made; contacts have no single unique field to find them by.
    """

    kind: StepKind
    table: str
    key: str
    name: str
    sys_id: str | None
    fields: Mapping[str, str]
    parent_key: str | None = None
    deferred: tuple[str, ...] = ()
    diff: tuple[FieldChange, ...] = ()
    correlation: Mapping[str, str] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """The write the adapter performs: every step is exactly one create or one update."""
        return "create" if self.sys_id is None else "update"

    @property
    def target_key(self) -> str:
        """Stable per-record key for the outbox (operations with one key run in order)."""
        return f"{self.table}:{self.key}"

    def payload(self, created: Mapping[str, str]) -> dict[str, str]:
        """The fields to write, deferred references resolved from ``created`` (registry key -> new sys_id).

        Raises KeyError when the parent's create has not run yet: the steps must be applied in plan order.
        """
        values = dict(self.fields)
        if self.deferred and self.parent_key is not None:
            values.update(dict.fromkeys(self.deferred, created[self.parent_key]))
        return values


@dataclass(frozen=True)
class SyncPlan:
    """Steps in apply order (parents before children, deactivations last), or errors and no steps at all.

    A plan with errors is never partially applied: an ambiguous match could send a write to the wrong
    party's account, so the planner refuses until a person fixes the data.
    """

    steps: tuple[Step, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        """True when nothing needs writing (and nothing is blocking)."""
        return not self.steps and not self.errors

    def counts(self) -> Counter[tuple[str, StepKind]]:
        """Number of steps per (table, kind)."""
        return Counter((step.table, step.kind) for step in self.steps)

    def count(self, kind: StepKind, table: str | None = None) -> int:
        """Number of steps of one kind, optionally on one table."""
        return sum(1 for s in self.steps if s.kind == kind and (table is None or s.table == table))

    def raise_for_errors(self) -> None:
        """Refuse to go on: the errors need a person (duplicate keys, ambiguous names in ServiceNow)."""
        if self.errors:
            raise ConfigError(list(self.errors))
