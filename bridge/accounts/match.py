"""Pair registry organisations with the ServiceNow accounts that already exist.

An account belongs to the bridge when it carries a registry key in ``mapping.key_field``. On first adoption,
an unkeyed account with exactly the organisation's name is taken over (the plan then writes the key). Any
ambiguity (two accounts with one key, two unkeyed accounts with one name) is an error, never a guess.
Accounts that are neither keyed nor name-matched are not ours: the bridge never writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.accounts.mapping import AccountMapping
from bridge.accounts.model import Registry

Record = dict[str, str]


def norm_name(name: str) -> str:
    """Names match case-insensitively with whitespace collapsed: the fallback must survive retyping."""
    return " ".join(name.split()).casefold()


@dataclass
class AccountIndex:
    """ServiceNow accounts looked up by sys_id, by key, and (unkeyed only) by name."""

    by_sys_id: dict[str, Record] = field(default_factory=dict)
    by_key: dict[str, list[Record]] = field(default_factory=dict)
    by_name: dict[str, list[Record]] = field(default_factory=dict)
    key_field: str = "u_bridge_key"

    def label(self, sys_id: str) -> str:
        """How to show a reference: the account's key, else its name, else the raw sys_id."""
        if not sys_id:
            return "(none)"
        record = self.by_sys_id.get(sys_id)
        if record is None:
            return sys_id
        return record.get(self.key_field) or record.get("name") or sys_id


def build_index(accounts: list[Record], mapping: AccountMapping) -> AccountIndex:
    """Index once so matching stays linear."""
    index = AccountIndex(key_field=mapping.key_field)
    for record in accounts:
        index.by_sys_id[record["sys_id"]] = record
        key = record.get(mapping.key_field, "").strip()
        if key:
            index.by_key.setdefault(key, []).append(record)
        else:
            index.by_name.setdefault(norm_name(record.get("name", "")), []).append(record)
    return index


@dataclass
class Matching:
    """The outcome: who is who, which keyed accounts the registry no longer has, and what is ambiguous."""

    matched: dict[str, Record] = field(default_factory=dict)
    adopted: set[str] = field(default_factory=set)
    orphans: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def match_accounts(registry: Registry, index: AccountIndex, mapping: AccountMapping) -> Matching:
    """Match every organisation by key, then (if allowed) by name; collect every ambiguity."""
    result = Matching()
    _duplicate_keys(index, mapping, result)
    for org in registry.organisations:
        keyed = index.by_key.get(org.key, [])
        if len(keyed) == 1:
            result.matched[org.key] = keyed[0]
        elif not keyed and mapping.adopt_by_name:
            _adopt(org.key, org.name, registry.where(org.line), index, result)
    result.orphans = [recs[0] for key, recs in index.by_key.items() if key not in registry.by_key]
    return result


def _duplicate_keys(index: AccountIndex, mapping: AccountMapping, result: Matching) -> None:
    for key, records in index.by_key.items():
        if len(records) > 1:
            result.errors.append(
                f"ServiceNow accounts {_numbers(records)} all carry {mapping.key_field}='{key}': "
                "keep the key on one of them"
            )


def _adopt(key: str, name: str, where: str, index: AccountIndex, result: Matching) -> None:
    candidates = index.by_name.get(norm_name(name), [])
    if len(candidates) == 1:
        result.matched[key] = candidates[0]
        result.adopted.add(key)
    elif candidates:
        result.errors.append(
            f"{where}: organisation '{key}' matches {len(candidates)} unkeyed ServiceNow accounts named "
            f"'{name}' ({_numbers(candidates)}): set the key field on the right one"
        )


def _numbers(records: list[Record]) -> str:
    return ", ".join(r.get("number") or r["sys_id"] for r in records)


def sn_depths(index: AccountIndex) -> dict[str, int]:
    """Depth of every ServiceNow account in the hierarchy as the instance holds it (cycle-safe)."""
    depths: dict[str, int] = {}
    for sys_id in index.by_sys_id:
        chain: list[str] = []
        seen: set[str] = set()
        current = sys_id
        while current in index.by_sys_id and current not in depths and current not in seen:
            chain.append(current)
            seen.add(current)
            current = index.by_sys_id[current].get("account_parent", "")
        base = depths.get(current, 0)
        for offset, item in enumerate(reversed(chain), start=1):
            depths[item] = base + offset
    return depths
