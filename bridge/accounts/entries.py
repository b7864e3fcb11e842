"""Shape of one registry entry, checked by pydantic; both file formats parse through here.

Only types and required fields are checked here, so a typo in one entry does not hide the semantic problems
of the others; :mod:`bridge.accounts.validate` does the rest over the whole registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.accounts.model import CONTACT_ROLES, Contact, Organisation, canonical_role


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)


class _ContactEntry(_Entry):
    name: str = Field(min_length=1)
    email: str = Field(min_length=1)
    role: str = Field(min_length=1)
    active: bool = True


class _OrgEntry(_Entry):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    mpids: list[str] = []
    roles: list[str] = []
    parent: str | None = None
    active: bool = True
    contacts: list[_ContactEntry] = []

    @field_validator("parent")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


Loc = tuple[str | int, ...]
#: Where a pydantic error location is in the source: (file, line).
WhereOf = Callable[[Loc], tuple[str, int]]


def parse_org(raw: Any, *, line: int, where_of: WhereOf, problems: list[str]) -> Organisation | None:
    """Shape-check one entry with pydantic; semantic checks come later, over the whole registry."""
    try:
        entry = _OrgEntry.model_validate(raw)
    except ValidationError as exc:
        label = _label(raw)
        for err in exc.errors():
            source, at = where_of(tuple(err["loc"]))
            field = ".".join(str(p) for p in err["loc"]) or "entry"
            problems.append(f"{source}:{at}: organisation{label}: {field}: {err['msg']}")
        return None
    contacts = tuple(_contact(c, *where_of(("contacts", i))) for i, c in enumerate(entry.contacts))
    return _organisation(entry, contacts, line)


def _label(raw: Any) -> str:
    key = raw.get("key") if isinstance(raw, dict) else None
    return f" '{key}'" if key else ""


def _contact(entry: _ContactEntry, source: str, line: int) -> Contact:
    role = canonical_role(entry.role, CONTACT_ROLES) or entry.role
    return Contact(entry.name, entry.email, role, entry.active, line=line, source=source)


def _organisation(entry: _OrgEntry, contacts: tuple[Contact, ...], line: int) -> Organisation:
    return Organisation(
        key=entry.key,
        name=" ".join(entry.name.split()),
        mpids=tuple(m for m in entry.mpids if m),
        roles=tuple(dict.fromkeys(canonical_role(r) or r for r in entry.roles if r)),
        parent=entry.parent,
        contacts=contacts,
        active=entry.active,
        line=line,
    )
