"""Text for people: the plan as a table, and the ServiceNow hierarchy marked against the registry.

Pure functions returning strings; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridge.accounts.mapping import DEFAULT_MAPPING, AccountMapping, is_true
from bridge.accounts.match import Matching, Record, build_index, match_accounts, norm_name
from bridge.accounts.model import Registry
from bridge.accounts.steps import FieldChange, Step, SyncPlan

_HEADERS = ("ACTION", "RECORD", "KEY", "NAME", "DETAILS")


def render_plan_table(plan: SyncPlan, *, mapping: AccountMapping = DEFAULT_MAPPING) -> str:
    """One row per step (= one write), then a summary, errors and warnings."""
    parts: list[str] = []
    if plan.errors:
        parts.append("ERRORS (nothing will be written until they are fixed):")
        parts.extend(f"  {e}" for e in plan.errors)
    if plan.steps:
        parts.append(_table([_row(s, mapping) for s in plan.steps]))
    parts.append(_summary(plan, mapping))
    if plan.warnings:
        parts.append("Warnings:")
        parts.extend(f"  {w}" for w in plan.warnings)
    return "\n".join(parts) + "\n"


def _row(step: Step, mapping: AccountMapping) -> tuple[str, ...]:
    record = "account" if step.table == mapping.account_table else "contact"
    return (str(step.kind), record, step.key, step.name, "; ".join(_details(step, mapping)))


def _details(step: Step, mapping: AccountMapping) -> Iterator[str]:
    hidden = {"name", "first_name", "last_name", "email", "active", mapping.key_field}
    hidden = hidden if step.kind == "create" else set()
    for change in step.diff:
        if change.field in hidden or (step.kind == "create" and not change.new):
            continue
        if step.kind == "create" and change.field == "account_parent":
            yield f"parent: {change.new}"
        elif change.field == "account_parent" or (change.field == "parent" and not mapping.sync_parent):
            yield f"parent: {change.old or '(none)'} -> {change.new}"
        elif change.field == "parent":
            yield f"parent (reference): {change.old or '(none)'} -> {change.new}"
        else:
            yield _change(change, created=step.kind == "create")


def _change(change: FieldChange, *, created: bool) -> str:
    if created:
        return f'{change.field}: "{change.new}"'
    return f'{change.field}: "{change.old}" -> "{change.new}"'


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [_HEADERS, *rows]) for i in range(len(_HEADERS) - 1)]
    lines = []
    for row in [_HEADERS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _summary(plan: SyncPlan, mapping: AccountMapping) -> str:
    if plan.is_empty:
        return "No changes: ServiceNow matches the registry."
    counts = plan.counts()
    items = [
        f"{n} {'account' if table == mapping.account_table else 'contact'} {kind}"
        for (table, kind), n in sorted(counts.items())
    ]
    return f"{len(plan.steps)} writes: " + (", ".join(items) if items else "none")


# --- tree ------------------------------------------------------------------------------------------------


def render_tree(
    existing_accounts: list[Record], registry: Registry, *, mapping: AccountMapping = DEFAULT_MAPPING
) -> str:
    """The hierarchy as ServiceNow holds it, each account marked where it differs from the registry."""
    tree = _Tree(existing_accounts, registry, mapping)
    lines = list(tree.lines())
    lines += _section("Missing from ServiceNow (registry has them, active):", tree.missing())
    lines += _section("Unreachable (parent cycle in ServiceNow):", tree.unreachable())
    lines += _section("Ambiguous:", tree.matching.errors)
    return "\n".join(lines) + "\n"


def _section(title: str, items: list[str]) -> list[str]:
    return [title, *(f"  {item}" for item in items)] if items else []


class _Tree:
    """Walks ServiceNow's parent links from the roots, cycle-safe, remembering what it saw."""

    def __init__(self, accounts: list[Record], registry: Registry, mapping: AccountMapping) -> None:
        self.registry, self.mapping = registry, mapping
        self.index = build_index(accounts, mapping)
        self.matching: Matching = match_accounts(registry, self.index, mapping)
        self.owner = {rec["sys_id"]: key for key, rec in self.matching.matched.items()}
        self.children: dict[str, list[Record]] = {}
        for record in accounts:
            parent = record.get("account_parent", "")
            self.children.setdefault(parent if parent in self.index.by_sys_id else "", []).append(record)
        self.seen: set[str] = set()

    def lines(self) -> Iterator[str]:
        for record in self._sorted(self.children.get("", [])):
            yield from self._walk(record, "", "")

    def _walk(self, record: Record, lead: str, branch: str) -> Iterator[str]:
        self.seen.add(record["sys_id"])
        yield f"{lead}{branch}{self._describe(record)}".rstrip()
        kids = [k for k in self._sorted(self.children.get(record["sys_id"], [])) if k["sys_id"] not in self.seen]
        below = lead + ("    " if branch == "└── " else "│   " if branch else "")
        for i, kid in enumerate(kids):
            yield from self._walk(kid, below, "└── " if i == len(kids) - 1 else "├── ")

    @staticmethod
    def _sorted(records: list[Record]) -> list[Record]:
        return sorted(records, key=lambda r: norm_name(r.get("name", "")))

    def _describe(self, record: Record) -> str:
        key = self.owner.get(record["sys_id"]) or record.get(self.mapping.key_field, "")
        label = f"{record.get('name', '')} [{key}]" if key else record.get("name", "")
        marks = list(self._marks(record))
        return f"{label}  ! {'; '.join(marks)}" if marks else label

    def _marks(self, record: Record) -> Iterator[str]:
        key = self.owner.get(record["sys_id"])
        active = is_true(record.get("active"))
        if key is None:
            yield self._foreign(record, active)
            return
        org = self.registry.by_key[key]
        if not org.active:
            yield "registry marks it inactive" if active else "inactive"
            return
        if not active:
            yield "inactive (registry: active)"
        if record.get("name", "") != org.name:
            yield f'name differs (registry: "{org.name}")'
        if record.get("account_parent", "") != self._wanted_parent(org.parent):
            yield f"wrong parent (registry: {org.parent or 'none'})"
        if key in self.matching.adopted:
            yield "matched by name, key not yet written"

    def _foreign(self, record: Record, active: bool) -> str:
        """An account no registry organisation matches: once ours (keyed) or never ours."""
        if not record.get(self.mapping.key_field):
            return "unmanaged (no key)"
        return "extra: not in registry" if active else "inactive, not in registry"

    def _wanted_parent(self, parent_key: str | None) -> str | None:
        if parent_key is None:
            return ""
        parent = self.matching.matched.get(parent_key)
        return parent["sys_id"] if parent else None

    def missing(self) -> list[str]:
        matched = self.matching.matched
        return [
            f"{org.name} [{org.key}] (parent: {org.parent or 'none'})"
            for org in self.registry.organisations
            if org.active and org.key not in matched
        ]

    def unreachable(self) -> list[str]:
        return [
            f"{r.get('name', '')} ({r.get('number') or r['sys_id']})"
            for r in self.index.by_sys_id.values()
            if r["sys_id"] not in self.seen
        ]
