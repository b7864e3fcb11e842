"""Read-only views for the admin page: recent events with what became of them, and links by any id.

Every query is bounded (LIMIT, keyset paging by id) and indexed, so a page costs the same on a store of a
hundred events or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bridge.store import records
from bridge.store.schema import inbox, outbox


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
    conn: sa.Connection,
    *,
    route: str | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[EventSummary]:
    """The newest events (older pages through ``before``), each with the operations planned from it."""
    columns = [inbox.c.id, inbox.c.route, inbox.c.source, inbox.c.record_key, inbox.c.received_at]
    query = sa.select(*columns, inbox.c.status, inbox.c.error).limit(limit)
    if status is not None:  # the (status, id) index gives the order
        query = query.where(inbox.c.status == status).order_by(inbox.c.id.desc())
        if route is not None:
            query = query.where(inbox.c.route == route)
        if before is not None:
            query = query.where(inbox.c.id < before)
    elif route is not None:  # the (route, received_at) index gives the order; ids break ties
        query = query.where(inbox.c.route == route).order_by(inbox.c.received_at.desc(), inbox.c.id.desc())
        if before is not None:
            query = query.where(_older_than(conn, before))
    else:
        query = query.order_by(inbox.c.id.desc())
        if before is not None:
            query = query.where(inbox.c.id < before)
    rows = conn.execute(query).all()
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


def _older_than(conn: sa.Connection, event_id: int) -> sa.ColumnElement[bool]:
    """Keyset condition "after event ``event_id`` in (received_at, id) descending order". The plain
    ``received_at <= at`` bound is what lets the (route, received_at) index start at the page: the OR alone is
    no range to an index, so each older page would walk every newer event first."""
    at = conn.execute(sa.select(inbox.c.received_at).where(inbox.c.id == event_id)).scalar()
    if at is None:
        return inbox.c.id < event_id
    newer = sa.or_(inbox.c.received_at < at, sa.and_(inbox.c.received_at == at, inbox.c.id < event_id))
    return sa.and_(inbox.c.received_at <= at, newer)


def _operations_of(conn: sa.Connection, events: list[tuple[str, int]]) -> dict[int, list[OperationSummary]]:
    """Operations planned from these events. The processor keys them `route:event:index[suffix]`, so each
    event's operations are one range of the unique idempotency-key index (outbox.event_id has no index)."""
    if not events:
        return {}
    ranges = [
        sa.and_(outbox.c.idempotency_key >= f"{route}:{event_id}:", outbox.c.idempotency_key < f"{route}:{event_id};")
        for route, event_id in events
    ]
    query = sa.select(
        outbox.c.id,
        outbox.c.event_id,
        outbox.c.action,
        outbox.c.status,
        outbox.c.attempts,
        outbox.c.target_key,
        outbox.c.result_id,
        outbox.c.last_error,
        outbox.c.mapping_version,
    ).where(sa.or_(*ranges), outbox.c.event_id.in_([event_id for _, event_id in events]))
    found: dict[int, list[OperationSummary]] = {}
    # sorted here, not in SQL: an ORDER BY id would tempt SQLite into walking the whole table in id order
    for row in sorted(conn.execute(query), key=lambda r: int(r.id)):
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


def event_payload(conn: sa.Connection, event_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(inbox).where(inbox.c.id == event_id)).first()
    return None if row is None else dict(row._mapping)


def links(conn: sa.Connection, record_id: str) -> list[dict[str, Any]]:
    """Links naming ``record_id`` on either side (an incident sys_id, an alert group, a partner's ticket...)."""
    return records.links_for(conn, record_id)
