"""Reconcile the registry with ServiceNow: a pure planner whose output, once applied, plans to nothing.

Rules: accounts are matched by key (adoption by name once); each changed record gets exactly one step (one
write) whatever changed; creates and moves run parents first (by registry depth) so a parent exists before a
child points at it; contact writes follow; deactivations run last, deepest first, so no active child hangs
under a deactivated parent. Accounts are deactivated, never deleted. Linear in accounts plus contacts.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridge.accounts.checks import account_path_warnings
from bridge.accounts.contacts import plan_contacts
from bridge.accounts.mapping import DEFAULT_MAPPING, FALSE, AccountMapping, account_fields, is_true, same
from bridge.accounts.match import AccountIndex, Matching, Record, build_index, match_accounts, sn_depths
from bridge.accounts.model import Organisation, Registry
from bridge.accounts.steps import FieldChange, Step, StepKind, SyncPlan
from bridge.accounts.validate import check_registry


def plan_sync(
    registry: Registry,
    existing_accounts: list[Record],
    existing_contacts: list[Record],
    *,
    mapping: AccountMapping = DEFAULT_MAPPING,
) -> SyncPlan:
    """Plan the writes that make ServiceNow hold the registry; raises ConfigError for an invalid registry."""
    check_registry(registry)
    index = build_index(existing_accounts, mapping)
    matching = match_accounts(registry, index, mapping)
    warnings = tuple(account_path_warnings(existing_accounts, mapping))
    contact_steps, contact_errors = plan_contacts(registry, matching, existing_contacts, mapping)
    errors = (*matching.errors, *contact_errors)
    if errors:
        return SyncPlan(errors=errors, warnings=warnings)
    accounts = _AccountPlanner(registry, index, matching, mapping)
    upserts, deactivations = accounts.steps()
    return SyncPlan(steps=(*upserts, *contact_steps, *deactivations), warnings=warnings)


class _AccountPlanner:
    """Account steps for one plan; holds the lookups so each helper stays small."""

    def __init__(self, registry: Registry, index: AccountIndex, matching: Matching, mapping: AccountMapping):
        self.registry, self.index, self.matching, self.mapping = registry, index, matching, mapping

    def steps(self) -> tuple[list[Step], list[Step]]:
        """(creates, updates, moves and reactivations parents first; deactivations deepest first)."""
        depth = self.registry.depth
        ordered = sorted(self.registry.organisations, key=lambda org: depth[org.key])
        steps = [s for org in ordered if (s := self._org_step(org)) is not None]
        upserts = [s for s in steps if s.kind != StepKind.DEACTIVATE]
        deactivations = [(depth[s.key], s) for s in steps if s.kind == StepKind.DEACTIVATE]
        deactivations += [(d, s) for d, s in self._orphan_steps()]
        deactivations.sort(key=lambda pair: -pair[0])
        return upserts, [s for _, s in deactivations]

    def _org_step(self, org: Organisation) -> Step | None:
        record = self.matching.matched.get(org.key)
        if not org.active:
            return self._retire(org, record) if record is not None else None
        if record is None:
            return self._create(org)
        return self._update(org, record)

    def _create(self, org: Organisation) -> Step:
        fields = account_fields(org, self.mapping)
        parent_id, deferred = self._parent_ref(org)
        diff = tuple(FieldChange(f, "", v) for f, v in fields.items())
        if org.parent is not None:
            diff += (FieldChange("account_parent", "", org.parent),)
        if parent_id:
            fields.update(dict.fromkeys(self.mapping.parent_fields, parent_id))
        table = self.mapping.account_table
        correlation = {"table": table, "field": self.mapping.key_field, "value": org.key}
        return Step(StepKind.CREATE, table, org.key, org.name, None, fields, org.parent, deferred, diff, correlation)

    def _update(self, org: Organisation, record: Record) -> Step | None:
        wanted = account_fields(org, self.mapping)
        fields = {f: v for f, v in wanted.items() if not same(f, record.get(f), v)}
        diff = [FieldChange(f, record.get(f, ""), v) for f, v in fields.items()]
        parent_id, deferred = self._parent_ref(org)
        moved = self._parent_changes(org, record, parent_id, deferred, fields, diff)
        if not fields and not deferred:
            return None
        kind = StepKind.REPARENT if moved else StepKind.UPDATE
        if not is_true(record.get("active")):
            kind = StepKind.REACTIVATE
        return Step(
            kind,
            self.mapping.account_table,
            org.key,
            org.name,
            record["sys_id"],
            fields,
            parent_key=org.parent,
            deferred=deferred,
            diff=tuple(diff),
        )

    def _parent_changes(
        self,
        org: Organisation,
        record: Record,
        parent_id: str,
        deferred: tuple[str, ...],
        fields: dict[str, str],
        diff: list[FieldChange],
    ) -> bool:
        """Add the parent reference writes; True when ``account_parent`` itself moves."""
        moved = bool(deferred) or record.get("account_parent", "") != parent_id
        if moved:
            new = org.parent or "(none)"
            diff.append(FieldChange("account_parent", self.index.label(record.get("account_parent", "")), new))
        if deferred:
            return True
        for name in self.mapping.parent_fields:
            if record.get(name, "") != parent_id:
                fields[name] = parent_id
                if name != "account_parent" and not moved:
                    diff.append(FieldChange(name, self.index.label(record.get(name, "")), org.parent or "(none)"))
        return moved

    def _parent_ref(self, org: Organisation) -> tuple[str, tuple[str, ...]]:
        """The parent's sys_id, or ("", deferred fields) when the parent is created in this same plan."""
        if org.parent is None:
            return "", ()
        parent = self.matching.matched.get(org.parent)
        if parent is None:
            return "", self.mapping.parent_fields
        return parent["sys_id"], ()

    def _retire(self, org: Organisation, record: Record) -> Step | None:
        """An inactive organisation: only make sure it is inactive (and keyed, if adopted by name)."""
        wanted = {self.mapping.key_field: org.key, "active": FALSE}
        fields = {f: v for f, v in wanted.items() if not same(f, record.get(f), v)}
        if not fields:
            return None
        kind = StepKind.DEACTIVATE if "active" in fields else StepKind.UPDATE
        diff = tuple(FieldChange(f, record.get(f, ""), v) for f, v in fields.items())
        return Step(kind, self.mapping.account_table, org.key, org.name, record["sys_id"], fields, diff=diff)

    def _orphan_steps(self) -> Iterator[tuple[int, Step]]:
        """Keyed accounts the registry no longer has: deactivate (never delete) the active ones."""
        depths = sn_depths(self.index) if self.matching.orphans else {}
        for record in self.matching.orphans:
            if is_true(record.get("active")):
                key = record[self.mapping.key_field]
                diff = (FieldChange("active", record.get("active", ""), FALSE),)
                table, name = self.mapping.account_table, record.get("name", "")
                fields = {"active": FALSE}
                step = Step(StepKind.DEACTIVATE, table, key, name, record["sys_id"], fields, diff=diff)
                yield depths.get(record["sys_id"], 1), step
