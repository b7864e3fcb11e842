"""Consistency of what the platform derives itself: reported, never written.

``account_path`` is maintained by ServiceNow's "Update account path" business rule as the account codes from
the root down, joined by ``/`` (CSM docs, "Account codes and account paths"). Accounts imported without the
business rules have empty or stale paths, which silently breaks parent/child visibility (Ops Manual 10.4), so
the planner warns about them; writing the path ourselves would fight the platform.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridge.accounts.mapping import AccountMapping
from bridge.accounts.match import Record


def account_path_warnings(accounts: list[Record], mapping: AccountMapping) -> list[str]:
    """One warning per account whose path or ``parent`` disagrees with its ``account_parent``."""
    by_id = {r["sys_id"]: r for r in accounts}
    warnings: list[str] = []
    for record in accounts:
        warnings.extend(_path_problems(record, by_id))
        if mapping.sync_parent and record.get("parent", "") != record.get("account_parent", ""):
            warnings.append(f"{_label(record)}: parent differs from account_parent")
    return warnings


def _path_problems(record: Record, by_id: dict[str, Record]) -> Iterator[str]:
    if "account_path" not in record:
        return
    path, parent_id = record["account_path"], record.get("account_parent", "")
    if not path:
        yield f"{_label(record)}: empty account_path (imported without business rules?)"
        return
    if not parent_id:
        if "/" in path:
            yield f"{_label(record)}: root account but account_path '{path}' has ancestors"
        return
    parent = by_id.get(parent_id)
    if parent is None:
        yield f"{_label(record)}: account_parent {parent_id} is not among the accounts read"
        return
    expected = f"{parent.get('account_path', '')}/{path.rsplit('/', 1)[-1]}"
    if parent.get("account_path") and path != expected:
        yield f"{_label(record)}: account_path '{path}' does not continue its parent's '{expected}'"


def _label(record: Record) -> str:
    return f"{record.get('number') or record['sys_id']} ({record.get('name', '')})"
