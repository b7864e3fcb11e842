"""The CSV form of the registry: organisations in one file, their contacts in another.

``accounts.csv``: ``key,name,mpids,roles,parent,active`` (``mpids`` and ``roles`` joined with ``;``).
``accounts.contacts.csv`` (default name, next to it): ``organisation,name,email,role,active``. A separate
contacts file rather than a packed column keeps one contact per line, so spreadsheet exports stay editable
and every problem has its own line number. The file must exist, even if it holds only its header: a missing
file must not read as "every contact was removed".
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bridge.accounts.entries import Loc, WhereOf, parse_org
from bridge.accounts.model import Organisation

ORG_COLUMNS = ("key", "name", "mpids", "roles", "parent", "active")
CONTACT_COLUMNS = ("organisation", "name", "email", "role", "active")


def read_csv(path: Path, contacts_path: Path, problems: list[str]) -> list[Organisation]:
    """Organisations with their contacts attached; problems are appended, never raised, to report all."""
    contacts = _read_contacts_csv(contacts_path, problems)
    orgs: list[Organisation] = []
    keys: set[str] = set()
    for line, row in _csv_rows(path, ORG_COLUMNS, problems):
        keys.add(row.get("key", ""))
        own = contacts.get(row.get("key", ""), [])
        raw: dict[str, Any] = {**row, "mpids": _split(row.get("mpids")), "roles": _split(row.get("roles"))}
        raw["active"] = row.get("active") or "true"
        raw["contacts"] = [c for _, c in own]
        where_of = _csv_where_of((str(path), line), str(contacts_path), [ln for ln, _ in own])
        org = parse_org(raw, line=line, where_of=where_of, problems=problems)
        if org is not None:
            orgs.append(org)
    _unknown_contact_orgs(contacts, keys, contacts_path, problems)
    return orgs


def _csv_where_of(org_at: tuple[str, int], contacts_source: str, contact_lines: list[int]) -> WhereOf:
    """Errors inside ``contacts[i]`` point at the contacts file's line, the rest at the organisation's."""

    def where_of(loc: Loc) -> tuple[str, int]:
        if len(loc) > 1 and loc[0] == "contacts" and isinstance(loc[1], int) and loc[1] < len(contact_lines):
            return contacts_source, contact_lines[loc[1]]
        return org_at

    return where_of


def _read_contacts_csv(path: Path, problems: list[str]) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Contacts grouped by organisation key, each with its line number."""
    if not path.exists():
        problems.append(f"{path}: contacts file not found (a CSV registry needs it, even if only a header)")
        return {}
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in _csv_rows(path, CONTACT_COLUMNS, problems):
        contact = {k: v for k, v in row.items() if k != "organisation"}
        contact["active"] = contact.get("active") or "true"
        grouped.setdefault(row.get("organisation", "").strip(), []).append((line, contact))
    return grouped


def _unknown_contact_orgs(
    contacts: dict[str, list[tuple[int, dict[str, str]]]], keys: set[str], path: Path, problems: list[str]
) -> None:
    for org_key, rows in contacts.items():
        if org_key not in keys:
            for line, _ in rows:
                problems.append(f"{path}:{line}: contact for unknown organisation '{org_key}'")


def _csv_rows(path: Path, columns: tuple[str, ...], problems: list[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; a wrong header is one problem and no rows."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        if sorted(header) != sorted(columns):
            problems.append(f"{path}:1: columns must be {','.join(columns)} (found {','.join(header)})")
            return
        for row in reader:
            yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]
