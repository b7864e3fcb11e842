"""Read-only views for the admin page: recent events with what became of them, and links by any id.

Every query (:mod:`bridge.store.views`) is bounded (LIMIT, keyset paging by id) and indexed, so a page costs the
same on a store of a hundred events or a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.store import Connection, views
from bridge.store import links as link_table


@dataclass(frozen=True)
class OperationSummary:
    id: int
    action: str
    status: str
    attempts: int
    target_key: str
    result_id: str | None
    last_error: str | None
    mapping_version: str | None


@dataclass(frozen=True)
class EventSummary:
    id: int
    route: str
    source: str
    record_key: str | None
    received_at: float
    status: str
    error: str | None
    operations: list[OperationSummary] = field(default_factory=list)


def recent_events(
    conn: Connection,
    *,
    route: str | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
    hide_sources: Sequence[str] = (),
) -> list[EventSummary]:
    """The newest events (older pages through ``before``), each with the operations planned from it; events
    from ``hide_sources`` (the scheduled ticks, on the admin page) left out."""
    rows = views.recent_events(conn, route=route, status=status, before=before, limit=limit, hide_sources=hide_sources)
    ops = _operations_of(conn, [(row.route, int(row.id)) for row in rows])
    return [
        EventSummary(
            id=int(row.id),
            route=row.route,
            source=row.source,
            record_key=row.record_key,
            received_at=float(row.received_at),
            status=row.status,
            error=row.error,
            operations=ops.get(int(row.id), []),
        )
        for row in rows
    ]


def _operations_of(conn: Connection, events: list[tuple[str, int]]) -> dict[int, list[OperationSummary]]:
    """Operations planned from these events, by event, in id order."""
    found: dict[int, list[OperationSummary]] = {}
    for row in views.operations_of(conn, events):
        found.setdefault(int(row.event_id), []).append(
            OperationSummary(
                id=int(row.id),
                action=row.action,
                status=row.status,
                attempts=int(row.attempts),
                target_key=row.target_key,
                result_id=row.result_id,
                last_error=row.last_error,
                mapping_version=row.mapping_version,
            )
        )
    return found


def links(conn: Connection, record_id: str) -> list[dict[str, Any]]:
    """Links naming ``record_id`` on either side (an incident sys_id, an alert group, a partner's ticket...)."""
    return link_table.links_for(conn, record_id)
