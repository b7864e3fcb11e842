"""Check a whole registry before anything is written: every problem, each with its ``file:line``, at once.

Pure and linear in the number of organisations; :func:`validate_registry` returns the list,
:func:`check_registry` raises it as one ConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bridge.accounts.model import CONTACT_ROLES, ROLES, Contact, Organisation, Registry, canonical_role
from bridge.errors import ConfigError

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MPID_PATTERN = re.compile(r"^[A-Z0-9]{4}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = re.compile(rf"^[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]+@{_LABEL}(?:\.{_LABEL})+$")


def validate_registry(registry: Registry) -> list[str]:
    """Every problem in the registry, in file order within each kind of check."""
    problems: list[str] = []
    problems += _duplicates(registry)
    for org in registry.organisations:
        problems += _org_fields(registry, org)
        problems += _contacts(registry, org)
    problems += _mpid_clashes(registry)
    cyclic, cycle_problems = _cycles(registry)
    problems += cycle_problems
    problems += _parents(registry, cyclic)
    return problems


def check_registry(registry: Registry) -> None:
    """Raise ConfigError listing every problem, or return quietly."""
    problems = validate_registry(registry)
    if problems:
        raise ConfigError(problems)


def _at(registry: Registry, org: Organisation) -> str:
    return f"{registry.where(org.line)}: organisation '{org.key}'"


def _duplicates(registry: Registry) -> Iterator[str]:
    """Keys and names must be unique: the key is the sync identity, the name the adoption fallback."""
    keys: dict[str, Organisation] = {}
    names: dict[str, Organisation] = {}
    for org in registry.organisations:
        first = keys.setdefault(org.key, org)
        if first is not org:
            yield f"{_at(registry, org)}: duplicate key (first at {registry.where(first.line)})"
        named = names.setdefault(org.name.casefold(), org)
        if named is not org:
            yield f"{_at(registry, org)}: duplicate name '{org.name}' (also '{named.key}' at line {named.line})"


def _org_fields(registry: Registry, org: Organisation) -> Iterator[str]:
    where = _at(registry, org)
    if not KEY_PATTERN.match(org.key):
        yield f"{where}: bad key: use lowercase letters, digits and '-' (at most 63)"
    seen: set[str] = set()
    for mpid in org.mpids:
        if not MPID_PATTERN.match(mpid):
            yield f"{where}: bad MPID '{mpid}': must be 4 uppercase letters or digits"
        elif mpid in seen:
            yield f"{where}: MPID '{mpid}' listed twice"
        seen.add(mpid)
    for role in org.roles:
        if canonical_role(role) is None:
            yield f"{where}: unknown role '{role}' (known: {', '.join(ROLES)})"


def _contacts(registry: Registry, org: Organisation) -> Iterator[str]:
    emails: dict[str, Contact] = {}
    for contact in org.contacts:
        where = f"{contact.source or registry.source}:{contact.line}: contact of '{org.key}'"
        if not _email_ok(contact.email):
            yield f"{where}: bad email '{contact.email}'"
        if canonical_role(contact.role, CONTACT_ROLES) is None:
            yield f"{where}: unknown contact role '{contact.role}' (known: {', '.join(CONTACT_ROLES)})"
        first = emails.setdefault(contact.email_key, contact)
        if first is not contact:
            yield f"{where}: email '{contact.email}' listed twice (first at line {first.line})"


def _email_ok(email: str) -> bool:
    local = email.partition("@")[0]
    return bool(EMAIL_PATTERN.match(email)) and ".." not in local and not local.startswith(".")


def _mpid_clashes(registry: Registry) -> Iterator[str]:
    """One participant ID names one party: two organisations claiming it would merge two parties' cases."""
    owners: dict[str, Organisation] = {}
    for org in registry.organisations:
        for mpid in dict.fromkeys(org.mpids):
            owner = owners.setdefault(mpid, org)
            if owner is not org:
                where = registry.where(owner.line)
                yield f"{_at(registry, org)}: MPID '{mpid}' already belongs to '{owner.key}' ({where})"


def _cycles(registry: Registry) -> tuple[set[str], list[str]]:
    """Find every parent cycle (colouring walk, linear); name each once, in order, at its first member."""
    by_key, state, cyclic, problems = registry.by_key, dict[str, int](), set[str](), list[str]()
    for org in registry.organisations:
        path: list[str] = []
        current: str | None = org.key
        while current in by_key and current not in state and current is not None:
            state[current] = 1
            path.append(current)
            current = by_key[current].parent
        if current is not None and state.get(current) == 1 and current != by_key[current].parent:
            cycle = path[path.index(current) :]
            cyclic.update(cycle)
            first = min((by_key[k] for k in cycle), key=lambda o: o.line)
            chain = " -> ".join([*cycle, cycle[0]])
            problems.append(f"{_at(registry, first)}: parent cycle: {chain}")
        state.update(dict.fromkeys(path, 2))
    return cyclic, problems


def _parents(registry: Registry, cyclic: set[str]) -> Iterator[str]:
    by_key = registry.by_key
    for org in registry.organisations:
        where = _at(registry, org)
        if org.parent is None:
            continue
        if org.parent == org.key:
            yield f"{where}: is its own parent"
        elif org.parent not in by_key:
            yield f"{where}: unknown parent '{org.parent}'"
        elif org.active and not by_key[org.parent].active:
            yield f"{where}: active, but its parent '{org.parent}' is inactive"
        if org.key not in cyclic and registry.depth[org.key] > registry.max_depth:
            yield f"{where}: depth {registry.depth[org.key]} exceeds max_depth {registry.max_depth}"
