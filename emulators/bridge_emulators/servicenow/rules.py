"""What the platform does to a record on write: defaults, system fields, numbering, priority, state side
effects, calculated names, the incident close data policy, and journal fields.

Pure functions over dicts; :mod:`.state` calls them under its lock and stores the result.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .choices import CLOSED_STATES, INACTIVE_STATES, RESOLVED_STATES
from .errors import OperationFailed
from .schema import JOURNAL, TableSchema
from .tables import PERSON_TABLES

SYS_ID = re.compile(r"^[0-9a-f]{32}$")

# The default Priority Lookup (impact, urgency) -> priority; the Table API docs' POST example
# (impact 2, urgency 2 -> priority 3) and GET example (impact 1, urgency 3 -> priority 3) agree with it.
PRIORITY_MATRIX: Mapping[tuple[str, str], str] = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("1", "3"): "3",
    ("2", "1"): "2",
    ("2", "2"): "3",
    ("2", "3"): "4",
    ("3", "1"): "3",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
PRIORITY_TABLES = frozenset({"incident", "problem"})


@dataclass(frozen=True)
class WriteContext:
    """Who writes, when, and which optional platform behaviours apply."""

    user: str
    user_sys_id: str
    now: str
    data_policies: bool = True


Row = dict[str, str]
JournalEntry = tuple[str, str]  # (element, value)


def new_sys_id() -> str:
    """A 32-character lowercase hex sys_id."""
    return uuid.uuid4().hex


def split_values(schema: TableSchema, values: Mapping[str, object]) -> tuple[Row, list[JournalEntry]]:
    """Known, writable fields as stored strings, and the journal entries; other keys are dropped."""
    fields: Row = {}
    entries: list[JournalEntry] = []
    for name, raw in values.items():
        fld = schema.field(name)
        if fld is None or name.startswith("sys_"):
            continue
        value = fld.clean(raw)
        if fld.kind == JOURNAL:
            if value.strip():
                entries.append((name, value))
            continue
        fields[name] = value
    return fields, entries


def new_row(
    schema: TableSchema,
    values: Mapping[str, object],
    ctx: WriteContext,
    next_number: Callable[[], str],
) -> tuple[Row, list[JournalEntry]]:
    """The full row for an insert: defaults, given values, system fields and table rules applied."""
    written, entries = split_values(schema, values)
    row: Row = {name: fld.default for name, fld in schema.fields.items()}
    row.update(written)
    given_id = str(values.get("sys_id", "") or "")
    row["sys_id"] = given_id if SYS_ID.match(given_id) else new_sys_id()
    row.update(
        sys_created_on=ctx.now,
        sys_updated_on=ctx.now,
        sys_created_by=ctx.user,
        sys_updated_by=ctx.user,
        sys_mod_count="0",
    )
    if schema.has("sys_class_name") and not row["sys_class_name"]:
        row["sys_class_name"] = schema.name
    if schema.number_prefix and not row.get("number"):
        row["number"] = next_number()
    _task_insert_defaults(schema, row, ctx)
    apply_rules(schema, row, None, set(written), ctx)
    return row, entries


def _task_insert_defaults(schema: TableSchema, row: Row, ctx: WriteContext) -> None:
    """opened_at/opened_by/sys_domain for task tables."""
    if not schema.has("opened_at"):
        return
    row["opened_at"] = row["opened_at"] or ctx.now
    row["opened_by"] = row["opened_by"] or ctx.user_sys_id
    row["sys_domain"] = row["sys_domain"] or "global"


def updated_row(
    schema: TableSchema, old: Row, values: Mapping[str, object], ctx: WriteContext
) -> tuple[Row, list[JournalEntry], bool]:
    """The row after an update, its journal entries, and whether anything changed at all.

    As on the platform, a write that changes nothing is not an update: sys_mod_count and sys_updated_on
    stay as they were.
    """
    written, entries = split_values(schema, values)
    row = dict(old)
    row.update(written)
    apply_rules(schema, row, old, set(written), ctx)
    changed = any(row.get(k, "") != old.get(k, "") for k in row)
    if changed or entries:
        row["sys_mod_count"] = str(int(old.get("sys_mod_count", "0") or 0) + 1)
        row["sys_updated_on"] = ctx.now
        row["sys_updated_by"] = ctx.user
    return row, entries, changed or bool(entries)


def apply_rules(schema: TableSchema, row: Row, old: Row | None, written: set[str], ctx: WriteContext) -> None:
    """The business rules that run before a write (old is None on insert)."""
    if schema.name in PRIORITY_TABLES:
        _priority(row, old, written)
    if schema.name in INACTIVE_STATES:
        _state_effects(schema.name, row, old, ctx)
    if schema.name == "incident":
        row["incident_state"] = row.get("state", "")
        if ctx.data_policies:
            _close_policy(row)
    if schema.name in PERSON_TABLES:
        _person_name(row)


def _priority(row: Row, old: Row | None, written: set[str]) -> None:
    """Priority from impact x urgency unless the write sets priority itself."""
    if "priority" in written and row.get("priority"):
        return
    touched = old is None or bool(written & {"impact", "urgency"}) or not row.get("priority")
    if touched:
        key = (row.get("impact", ""), row.get("urgency", ""))
        row["priority"] = PRIORITY_MATRIX.get(key, row.get("priority", "") or "5")


def _state_effects(table: str, row: Row, old: Row | None, ctx: WriteContext) -> None:
    """active, resolved_* and closed_* follow the state, as the task state rules do."""
    state = row.get("state", "")
    previous = old.get("state", "") if old else None
    if state == previous:
        return
    row["active"] = "false" if state in INACTIVE_STATES[table] else "true"
    if state in RESOLVED_STATES[table] | CLOSED_STATES[table] and not row.get("resolved_at"):
        row["resolved_at"] = ctx.now
        row["resolved_by"] = row.get("resolved_by") or ctx.user_sys_id
    if state in CLOSED_STATES[table]:
        row["closed_at"] = row.get("closed_at") or ctx.now
        row["closed_by"] = row.get("closed_by") or ctx.user_sys_id
    done = RESOLVED_STATES[table] | CLOSED_STATES[table]
    if previous in done and state not in done:
        row.update(resolved_at="", resolved_by="", closed_at="", closed_by="")
        row["reopen_count"] = str(int(row.get("reopen_count", "0") or 0) + 1)


def _close_policy(row: Row) -> None:
    """The incident data policy: resolving or closing needs a resolution code and notes."""
    if row.get("state") not in ("6", "7"):
        return
    required = (("close_code", "Resolution code"), ("close_notes", "Resolution notes"))
    missing = [label for name, label in required if not row.get(name)]
    if missing:
        raise OperationFailed("Data Policy Exception: The following fields are mandatory: " + ", ".join(missing))


def _person_name(row: Row) -> None:
    """sys_user.name is calculated from the first and last name."""
    full = " ".join(p for p in (row.get("first_name", ""), row.get("last_name", "")) if p)
    if full:
        row["name"] = full
