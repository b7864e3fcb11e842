"""The participant registry as plain, immutable data: organisations, their contacts, and the role vocabulary.

Source positions (`source`, `line`) are kept so every validation problem can say `file:line`, but they are
excluded from equality: a registry loaded from YAML equals the same registry loaded from CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

#: Organisation roles, as the MHHS service-management documents name the parties (Ops Manual 10.4 and
#: Appendix H; CPSD Approach v0.8 1.5 "Stakeholders" and 5 "Service Desks and Help Desks").
ROLES: tuple[str, ...] = (
    "Supplier",
    "Supplier Agent",
    "LDSO",
    "MPAS Help Desk",
    "Registration Service",
    "DIP Operator",
    "DCP",
    "Software Provider",
    "Central Service Provider",
    "Smart DCC",
    "Smart DSP",
    "Central Switching Service",
    "Electricity Enquiry Service",
    "Code Body",
    "Code Manager",
)

#: Other spellings the documents use for the same roles; a registry may use them, the bridge stores the
#: canonical name.
ROLE_ALIASES: dict[str, str] = {
    "dip connection provider": "DCP",
    "dcc": "Smart DCC",
    "data communications company": "Smart DCC",
    "licensed distribution system operator": "LDSO",
    "dno": "LDSO",
    "idno": "LDSO",
    "css": "Central Switching Service",
    "ees": "Electricity Enquiry Service",
    "smrs": "Registration Service",
    "mprs": "Registration Service",
    "metering agent": "Supplier Agent",
    "dip service provider": "DIP Operator",
    "rec code manager": "Code Manager",
}

#: What a contact is for (Appendix H: service desk, out-of-hours and major-incident contacts).
CONTACT_ROLES: tuple[str, ...] = (
    "Service Desk",
    "Out of Hours",
    "Major Incident",
    "Technical",
    "Primary",
    "Escalation",
)

DEFAULT_MAX_DEPTH = 4


def canonical_role(text: str, vocabulary: tuple[str, ...] = ROLES) -> str | None:
    """The canonical spelling of a role (case-insensitive, aliases allowed), or None if it is unknown."""
    folded = " ".join(text.split()).casefold()
    for role in vocabulary:
        if role.casefold() == folded:
            return role
    return ROLE_ALIASES.get(folded) if vocabulary is ROLES else None


@dataclass(frozen=True)
class Contact:
    """A person or (better) a shared mailbox a party nominated; keyed by email within its organisation."""

    name: str
    email: str
    role: str
    active: bool = True
    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)

    @property
    def email_key(self) -> str:
        """Emails match case-insensitively: ServiceNow and mail systems do."""
        return self.email.strip().casefold()


@dataclass(frozen=True)
class Organisation:
    """One market party (or group parent) that becomes one ServiceNow customer account."""

    key: str
    name: str
    mpids: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    parent: str | None = None
    contacts: tuple[Contact, ...] = ()
    active: bool = True
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Registry:
    """The whole registry; ``by_key`` and ``depth`` are computed once because the planner is linear."""

    organisations: tuple[Organisation, ...]
    source: str = field(default="<registry>", compare=False)
    max_depth: int = field(default=DEFAULT_MAX_DEPTH, compare=False)

    @cached_property
    def by_key(self) -> dict[str, Organisation]:
        """The first organisation of each key (duplicates are a validation problem)."""
        index: dict[str, Organisation] = {}
        for org in self.organisations:
            index.setdefault(org.key, org)
        return index

    @cached_property
    def depth(self) -> dict[str, int]:
        """Depth of every organisation (root = 1); cycles and unknown parents count as roots here."""
        depths: dict[str, int] = {}
        for org in self.organisations:
            _depth_of(org.key, self.by_key, depths)
        return depths

    def where(self, line: int) -> str:
        """``file:line`` for problem messages."""
        return f"{self.source}:{line}"


def _depth_of(key: str, by_key: dict[str, Organisation], depths: dict[str, int]) -> int:
    """Iterative walk up the parent chain, memoised, cycle-safe (validation reports the cycle itself)."""
    chain: list[str] = []
    seen: set[str] = set()
    current: str | None = key
    while current is not None and current not in depths and current in by_key and current not in seen:
        seen.add(current)
        chain.append(current)
        current = by_key[current].parent
    base = depths.get(current, 0) if current is not None else 0
    for offset, item in enumerate(reversed(chain), start=1):
        depths[item] = base + offset
    return depths.get(key, 1)
