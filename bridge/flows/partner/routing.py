"""Which party a case goes to (CPSD 6 "Assignment - Routed to correct resolver group (internal or external)").

The route's assignment map names a party for an assignment value (a group's sys_id or name). An assignment value
listed in ``assignment.by_category`` means "the party that covers the case's category": the directory's
``categories`` decide (exactly one party must cover it). Anything else is one of Elexon's own groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.flows.partner.pair import Setup
from bridge.flows.partner.sync import plain


@dataclass(frozen=True)
class Routed:
    """Where the case's assignment points: a party (``key``), nowhere external (both None), or a category no
    single party covers (``problem``)."""

    key: str | None = None
    problem: str | None = None


def party_for(setup: Setup, record: dict[str, Any]) -> Routed:
    assignment = setup.opts.assignment
    assert assignment is not None, "a central route has its assignment map"
    value = plain(record.get(assignment.field))
    key = assignment.values.get(value)
    if key is not None:
        return Routed(key=key)
    if value not in assignment.by_category:
        return Routed()
    category = plain(record.get(assignment.category_field))
    found = setup.directory.by_category(category) if category else []
    if len(found) == 1:
        return Routed(key=found[0].key)
    which = ", ".join(p.key for p in found) or "none"
    return Routed(
        problem=f"the case's {assignment.category_field} {category!r} is covered by {which}: set it to "
        "a category exactly one e-bonded party of the directory covers, or assign the party itself"
    )
