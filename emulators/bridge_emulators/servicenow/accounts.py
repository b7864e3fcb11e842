"""Account codes and account paths on customer_account, kept as the platform's business rules keep them.

ServiceNowDocs ``markdown/customer-service-management/csm-account-code-account-path.md``: every account has a
unique account code (shown there as ``~~~~1``), and its account path is the codes of its ancestors and
itself joined by ``/`` (``~~~~1/~~~~3/~~~~5``), following the **account_parent** field. The emulator keeps
``parent`` (inherited from core_company) as a plain reference that does not move the path.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import OperationFailed
from .models import Table
from .paths import Row

CODE_WIDTH = 5


def format_code(counter: int) -> str:
    """An account code in the platform's shape: the counter left-padded with ``~``."""
    return str(counter).rjust(CODE_WIDTH, "~")


def _parent_path(accounts: Table, row: Row) -> str:
    """The account path of the row's account_parent ("" when it has none or it does not exist)."""
    parent = accounts.rows.get(row.get("account_parent", ""))
    return parent.get("account_path", "") if parent else ""


def _check_cycle(accounts: Table, row: Row) -> None:
    """Refuse a parent that is the account itself or one of its descendants."""
    seen = {row["sys_id"]}
    current = row.get("account_parent", "")
    while current:
        if current in seen:
            raise OperationFailed("Invalid account hierarchy: an account cannot be its own ancestor")
        seen.add(current)
        parent = accounts.rows.get(current)
        current = parent.get("account_parent", "") if parent else ""


def maintain(accounts: Table, row: dict[str, str], old: Row | None, next_code: Callable[[], str]) -> list[Row]:
    """Set the row's code and path; return the descendants whose paths change with it."""
    if not row.get("account_code"):
        row["account_code"] = old.get("account_code", "") if old and old.get("account_code") else next_code()
    _check_cycle(accounts, row)
    prefix = _parent_path(accounts, row)
    row["account_path"] = f"{prefix}/{row['account_code']}" if prefix else row["account_code"]
    old_path = old.get("account_path", "") if old else ""
    if not old_path or old_path == row["account_path"]:
        return []
    return _moved_descendants(accounts, old_path, row["account_path"])


def _moved_descendants(accounts: Table, old_path: str, new_path: str) -> list[Row]:
    """Copies of every descendant with its path re-rooted from old_path to new_path."""
    moved: list[Row] = []
    for other in accounts.rows.values():
        path = other.get("account_path", "")
        if path.startswith(old_path + "/"):
            moved.append({**other, "account_path": new_path + path[len(old_path) :]})
    return moved


def orphans(accounts: Table, deleted: Row) -> list[Row]:
    """Children of a deleted account: account_parent cleared (the reference cascade rule "clear"), paths
    re-rooted under their own code."""
    path = deleted.get("account_path", "")
    changed: list[Row] = []
    for other in accounts.rows.values():
        if other.get("account_parent") == deleted["sys_id"]:
            changed.append({**other, "account_parent": ""})
    result: list[Row] = []
    for child in changed:
        new_root = child.get("account_code", "")
        result.append({**child, "account_path": new_root})
        old_child_path = child.get("account_path", "")
        if path and old_child_path:
            result.extend(_moved_descendants(accounts, old_child_path, new_root))
    return result
