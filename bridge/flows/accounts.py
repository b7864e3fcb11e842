"""Participant registry -> ServiceNow CSM accounts and contacts, through the same engine as every flow.

A sync request enters the inbox like every event (:mod:`bridge.sources.registry`: the schedule, `bridge
accounts sync`), carrying the registry it was read from. Planning reads the existing accounts and contacts in
pages (through the fetch step, before the planning transaction), plans the difference (:mod:`bridge.accounts`),
and turns each step into exactly one outbox operation. Each record has its own ordering key, and an operation
names its parent account's key as the one it must wait for (`after`), so a parent's create always lands before
its children's and its contacts' while unrelated records are written together (and batched); deactivations
run one after another, deepest first. A child's `account_parent` is filled at delivery time from the link the
parent's create wrote (`registry` key <-> sys_id). Existing accounts get their links with the
plan, so later writes address them by sys_id with no read first. A second sync right after is a no-op.

Route (kind `account-sync`): `target` is the ServiceNow target; options `registry` (YAML or CSV path),
`schedule_minutes` (0 = on demand only) and `mapping` (the :class:`AccountMapping` fields). The route's own
`mapping` may name a DSL field map in `mappings_dir` (`account-to-customer-account`) that then gives the
account fields; it is hot-reloaded like every mapping, and each operation records `<run id>@<map version>`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from bridge.accounts import AccountMapping, Registry, SyncPlan, plan_sync
from bridge.accounts.options import AccountSyncOptions, options_for
from bridge.accounts.snapshot import from_data
from bridge.accounts.steps import Step, StepKind
from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, PlanContext, Planned, json_object
from bridge.errors import MappingError
from bridge.mappings.documents import DocumentSource
from bridge.mappings.dsl import LiveFieldMap
from bridge.store.inbox import InboxEvent

log = logging.getLogger("bridge.accounts")
SYSTEM = "registry"


class Reader(Protocol):
    def read_all(self, table: str, *, fields: Any = ...) -> Iterator[dict[str, Any]]: ...


class AccountSyncFlow(BaseFlow):
    """The route's flow: each event is a sync request carrying the registry (see the module doc)."""

    reads_systems = True

    def __init__(self, route: RouteSettings, options: AccountSyncOptions, fields: LiveFieldMap | None = None) -> None:
        self.route = route
        self.options = options
        self.fields = fields
        #: held while a plan runs: a new version of the map is taken between plans, never during one
        self.lock = threading.RLock()

    @property
    def version(self) -> str:
        """The live field map's version (a hash of its text), or the built-in mapping's name."""
        return self.fields.version if self.fields else "accounts-1"

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of the field map was refused, for the admin overview."""
        return self.fields.reload_error if self.fields else None

    def reload_if_changed(self) -> None:
        if self.fields:
            with self.lock:
                self.fields.reload_if_changed()

    def mapping(self) -> AccountMapping:
        """The options' :class:`AccountMapping` with the live field map (after taking any valid edit)."""
        if self.fields is None:
            return self.options.mapping
        with self.lock:
            self.fields.reload_if_changed()
            update = {"field_map": self.fields.field_map, "field_map_label": self.fields.label}
            return self.options.mapping.model_copy(update=update)

    @property
    def previewable(self) -> bool:
        return self.fields is not None

    def preview(self, sample: Any) -> dict[str, Any] | None:
        """The account fields the live map gives for one organisation (as JSON)."""
        from bridge.accounts.mapping import account_fields
        from bridge.accounts.snapshot import organisation_from_json

        if self.fields is None:
            return None
        return dict(account_fields(organisation_from_json(dict(json_object(sample))), self.mapping()))

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        """A sync request: read what ServiceNow holds, plan the difference, one operation per step."""
        try:
            request = json.loads(event.payload)
            registry = from_data(request["registry"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise MappingError(f"event {event.id} is not an account sync request: {exc}") from exc
        with self.lock:  # the fields and the version recorded with them come from one version of the map
            mapping, map_version = self.mapping(), self.version
        plan = make_plan(registry, ctx.reads.of(self.route.target), mapping)
        if plan.errors:
            raise MappingError("the sync needs a person first: " + "; ".join(plan.errors))
        run_id = str(request.get("run_id") or event.id)
        for step in plan.steps:
            if step.sys_id:
                ctx.put_link(SYSTEM, _link_id(step.table, step.key), self.route.target, step.sys_id)
        after = {"run": run_id, "steps": len(plan.steps), "counts": _counts(plan)}
        ctx.audit(actor=str(request.get("actor") or "bridge"), action="accounts-sync", after=after)
        if not plan.steps:
            return ctx.ignore(f"account sync {run_id}: ServiceNow already matches the registry, nothing to sync")
        version = f"{run_id}@{map_version}"
        waits = _after_keys(plan, self.options.mapping.account_table)
        return [
            _planned(self.options, step, after, version=version) for step, after in zip(plan.steps, waits, strict=True)
        ]


def build(route: RouteSettings, config: BridgeConfig, documents: DocumentSource | None = None) -> AccountSyncFlow:
    fields = None
    if route.mapping:
        path = config.mappings_dir / f"{route.mapping}.yaml"
        fields = LiveFieldMap(path, route=route.name, source=documents, kind="accounts")
    return AccountSyncFlow(route, options_for(route), fields)


def read_existing(reader: Reader, mapping: AccountMapping) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Every account and contact, page by page (reads bounded by page count, no read per record)."""
    accounts = [_plain(r) for r in reader.read_all(mapping.account_table, fields=_account_fields(mapping))]
    contacts = [_plain(r) for r in reader.read_all(mapping.contact_table, fields=_contact_fields(mapping))]
    return accounts, contacts


def make_plan(registry: Registry, reader: Reader, mapping: AccountMapping) -> SyncPlan:
    accounts, contacts = read_existing(reader, mapping)
    return plan_sync(registry, accounts, contacts, mapping=mapping)


def _planned(options: AccountSyncOptions, step: Step, after: str | None, *, version: str) -> Planned:
    payload: dict[str, Any] = {"table": step.table, "fields": dict(step.fields)}
    if step.deferred and step.parent_key:
        parent = [SYSTEM, _link_id(options.mapping.account_table, step.parent_key)]
        payload["resolve"] = dict.fromkeys(step.deferred, parent)
    return Planned(
        step.action,
        payload,
        _ordering_key(step.table, step.key),
        link=(SYSTEM, _link_id(step.table, step.key)),
        correlation=dict(step.correlation) or None,
        version=version,
        after=after,
    )


def _after_keys(plan: SyncPlan, account_table: str) -> list[str | None]:
    """What each step waits for: an account or contact waits for its (parent) account's earlier operations,
    so parents are written first; deactivations wait for the one before them, so they keep the plan's order
    (deepest first: no active child under an inactive parent)."""
    waits: list[str | None] = []
    previous_deactivation: str | None = None
    for step in plan.steps:
        if step.kind == StepKind.DEACTIVATE:
            waits.append(previous_deactivation)
            previous_deactivation = _ordering_key(step.table, step.key)
        else:
            waits.append(_ordering_key(account_table, step.parent_key) if step.parent_key else None)
    return waits


def _ordering_key(table: str, key: str) -> str:
    """One record's outbox ordering key."""
    return f"accounts:{_link_id(table, key)}"


def _link_id(table: str, key: str) -> str:
    return f"{table}:{key}"


def _counts(plan: SyncPlan) -> dict[str, int]:
    return {f"{table}:{kind}": n for (table, kind), n in plan.counts().items()}


def _plain(record: dict[str, Any]) -> dict[str, str]:
    return {k: str(v.get("value", "")) if isinstance(v, dict) else str(v) for k, v in record.items()}


def _account_fields(mapping: AccountMapping) -> list[str]:
    fields = [
        "sys_id",
        "number",
        "name",
        "account_parent",
        "parent",
        "account_path",
        "active",
        mapping.key_field,
        mapping.mpids_field,
    ]
    if mapping.field_map is not None:
        return list(dict.fromkeys(fields + list(mapping.field_map.fields)))
    return fields + ([mapping.roles_field] if mapping.roles_field else [])


def _contact_fields(mapping: AccountMapping) -> list[str]:
    fields = ["sys_id", "name", "first_name", "last_name", "email", "account", "active"]
    return fields + ([mapping.contact_role_field] if mapping.contact_role_field else [])
