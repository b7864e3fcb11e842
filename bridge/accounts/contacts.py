"""Contact steps: each registry contact is keyed by email within its account.

A contact that moves to another organisation is deactivated under the old account and created (or
reactivated) under the new one: keyed by email *within* an account, the two are different records, which
keeps each account's contact list exactly the registry's. Contacts of accounts the bridge does not own are
never touched.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridge.accounts.mapping import FALSE, AccountMapping, contact_fields, is_true, same
from bridge.accounts.match import Matching, Record
from bridge.accounts.model import Contact, Organisation, Registry
from bridge.accounts.steps import FieldChange, Step, StepKind

Grouped = dict[str, dict[str, list[Record]]]


def plan_contacts(
    registry: Registry, matching: Matching, existing: list[Record], mapping: AccountMapping
) -> tuple[list[Step], list[str]]:
    """Steps for every managed account's contacts, in registry depth order; plus ambiguities found."""
    grouped = _group(existing)
    steps: list[Step] = []
    errors: list[str] = []
    depth = registry.depth
    for org in sorted(registry.organisations, key=lambda o: depth[o.key]):
        record = matching.matched.get(org.key)
        if record is None and not org.active:
            continue
        current = grouped.get(record["sys_id"], {}) if record is not None else {}
        steps.extend(_org_contacts(org, record, current, mapping, errors))
    for orphan in matching.orphans:
        contacts = grouped.get(orphan["sys_id"], {})
        steps.extend(_retire_all(orphan[mapping.key_field], contacts, mapping))
    return steps, errors


def _group(existing: list[Record]) -> Grouped:
    """Contacts by account sys_id, then by lower-cased email (a list: duplicates are possible)."""
    grouped: Grouped = {}
    for record in existing:
        by_email = grouped.setdefault(record.get("account", ""), {})
        by_email.setdefault(record.get("email", "").strip().casefold(), []).append(record)
    return grouped


def _org_contacts(
    org: Organisation,
    account: Record | None,
    current: dict[str, list[Record]],
    mapping: AccountMapping,
    errors: list[str],
) -> Iterator[Step]:
    remaining = dict(current)
    for contact in org.contacts:
        records = remaining.pop(contact.email_key, [])
        if len(records) > 1:
            errors.append(_ambiguous(org, contact, records))
            continue
        step = _contact_step(org, contact, account, records[0] if records else None, mapping)
        if step is not None:
            yield step
    if mapping.deactivate_unlisted_contacts or not org.active:
        yield from _retire_all(org.key, remaining, mapping)


def _ambiguous(org: Organisation, contact: Contact, records: list[Record]) -> str:
    ids = ", ".join(r["sys_id"] for r in records)
    return (
        f"{contact.source}:{contact.line}: contact '{contact.email}' of '{org.key}' matches "
        f"{len(records)} ServiceNow contacts ({ids}): deactivate or re-address the extra ones"
    )


def _contact_step(
    org: Organisation, contact: Contact, account: Record | None, record: Record | None, mapping: AccountMapping
) -> Step | None:
    key, table = f"{org.key}/{contact.email_key}", mapping.contact_table
    if not (org.active and contact.active):
        return _retire(key, contact.name, record, mapping) if record is not None else None
    wanted = contact_fields(contact, mapping)
    if record is None:
        deferred = ("account",) if account is None else ()
        fields = wanted if account is None else {**wanted, "account": account["sys_id"]}
        diff = tuple(FieldChange(f, "", v) for f, v in wanted.items())
        return Step(StepKind.CREATE, table, key, contact.name, None, fields, org.key, deferred, diff)
    fields = {f: v for f, v in wanted.items() if not same(f, record.get(f), v)}
    if not fields:
        return None
    kind = StepKind.UPDATE if is_true(record.get("active")) else StepKind.REACTIVATE
    diff = tuple(FieldChange(f, record.get(f, ""), v) for f, v in fields.items())
    return Step(kind, table, key, contact.name, record["sys_id"], fields, org.key, diff=diff)


def _retire_all(account_key: str, contacts: dict[str, list[Record]], mapping: AccountMapping) -> Iterator[Step]:
    """Deactivate every active contact left over; duplicates get the sys_id in their key to stay unique."""
    for email, records in contacts.items():
        for record in records:
            suffix = f"#{record['sys_id']}" if len(records) > 1 or not email else ""
            step = _retire(f"{account_key}/{email}{suffix}", record.get("name", ""), record, mapping)
            if step is not None:
                yield step


def _retire(key: str, name: str, record: Record, mapping: AccountMapping) -> Step | None:
    if not is_true(record.get("active")):
        return None
    diff = (FieldChange("active", record.get("active", ""), FALSE),)
    return Step(StepKind.DEACTIVATE, mapping.contact_table, key, name, record["sys_id"], {"active": FALSE}, diff=diff)
