"""Apply a plan to in-memory ServiceNow records, as the platform would: for tests, previews and dry runs.

Creates get a deterministic sys_id and number; ``account_path`` and a contact's ``name`` are recomputed the
way the platform's business rules do, so planning again against the result checks the planner's fixed point.
"""

from __future__ import annotations

import hashlib

from bridge.accounts.mapping import DEFAULT_MAPPING, TRUE, AccountMapping
from bridge.accounts.match import Record
from bridge.accounts.steps import Step, SyncPlan


def apply_plan(
    plan: SyncPlan,
    accounts: list[Record],
    contacts: list[Record],
    *,
    mapping: AccountMapping = DEFAULT_MAPPING,
) -> tuple[list[Record], list[Record]]:
    """New (accounts, contacts) lists after every step, in order; the inputs are not modified."""
    plan.raise_for_errors()
    tables: dict[str, list[Record]] = {
        mapping.account_table: [dict(r) for r in accounts],
        mapping.contact_table: [dict(r) for r in contacts],
    }
    by_id = {r["sys_id"]: r for rows in tables.values() for r in rows}
    created: dict[str, str] = {}
    for step in plan.steps:
        values = step.payload(created)
        if step.sys_id is None:
            record = _new_record(step, len(tables[step.table]), mapping)
            tables[step.table].append(record)
            by_id[record["sys_id"]] = record
            if step.table == mapping.account_table:
                created[step.key] = record["sys_id"]
        else:
            record = by_id[step.sys_id]
        record.update(values)
    _recompute_paths(tables[mapping.account_table])
    for contact in tables[mapping.contact_table]:
        contact["name"] = f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip()
    return tables[mapping.account_table], tables[mapping.contact_table]


def _new_record(step: Step, count: int, mapping: AccountMapping) -> Record:
    sys_id = hashlib.sha256(f"{step.table}:{step.key}:{count}".encode()).hexdigest()[:32]
    if step.table == mapping.account_table:
        blank = dict.fromkeys(("name", "account_parent", "parent", "account_path"), "")
        return {**blank, "sys_id": sys_id, "number": f"SIM{count + 1:07d}", "active": TRUE}
    blank = dict.fromkeys(("name", "first_name", "last_name", "email", "account"), "")
    return {**blank, "sys_id": sys_id, "active": TRUE}


def _recompute_paths(accounts: list[Record]) -> None:
    """The "Update account path" business rule: codes from the root down, joined by '/'."""
    by_id = {r["sys_id"]: r for r in accounts}
    codes = {r["sys_id"]: (r.get("account_path") or r["number"]).rsplit("/", 1)[-1] for r in accounts}
    paths: dict[str, str] = {}
    for record in accounts:
        chain: list[str] = []
        seen: set[str] = set()
        current = record["sys_id"]
        while current in by_id and current not in paths and current not in seen:
            chain.append(current)
            seen.add(current)
            current = by_id[current].get("account_parent", "")
        prefix = paths.get(current, "")
        for sys_id in reversed(chain):
            prefix = f"{prefix}/{codes[sys_id]}" if prefix else codes[sys_id]
            paths[sys_id] = prefix
    for record in accounts:
        record["account_path"] = paths[record["sys_id"]]
