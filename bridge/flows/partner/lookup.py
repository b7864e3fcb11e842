"""Strict lookups: which of our cases a partner's record belongs to (docs/ebonding.md, "Strict lookups").

Never an empty key, never a loose query; keys that disagree, a number matching no case or several, are a
MappingError (the processor dead-letters the event and nothing is touched).
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import PlanContext
from bridge.errors import MappingError, PermanentError
from bridge.flows.partner.sync import plain
from bridge.partners import Partner


def our_case(partner: Partner, record: dict[str, Any], ctx: PlanContext, *, central: str, table: str) -> str | None:
    """Our case's sys_id by the link of their id, their correlation_id, or our number (read from our
    ``table``, where several matches are a PermanentError); none of them -> None (the partner's own business)."""
    their_id = plain(record.get("sys_id"))
    linked = ctx.link(partner.via, their_id, central) if their_id else None
    corr = plain(record.get("correlation_id")).strip()
    if linked and corr and linked != corr:
        raise MappingError(f"{partner.key} {their_id}: linked to case {linked} but correlation_id says {corr}")
    if linked or corr:
        return linked or corr
    number = plain(record.get("correlation_display")).strip()
    if not number:
        return None
    try:
        found = ctx.reads.of(central).find_one(table, "number", number)
    except PermanentError as exc:
        raise MappingError(f"{partner.key} record names case {number}: {exc}") from exc
    if found is None:
        raise MappingError(f"{partner.key} record names case {number}, which does not exist")
    return plain(found.get("sys_id"))
