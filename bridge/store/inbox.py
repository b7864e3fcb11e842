"""The durable inbox: every inbound change is written here before anyone is told it was accepted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store import Store, dumps, now
from bridge.store.schema import inbox


@dataclass(frozen=True)
class NewEvent:
    source: str
    route: str
    dedupe_key: str
    payload: str
    record_key: str | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Accepted:
    event_id: int
    duplicate: bool


@dataclass(frozen=True)
class InboxEvent:
    id: int
    source: str
    route: str
    dedupe_key: str
    record_key: str | None
    payload: str
    received_at: float
    status: str


def insert_ignore(store: Store, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect of the store."""
    return (postgresql.insert if store.is_postgres else sqlite.insert)(table)


def add_events(store: Store, events: Sequence[NewEvent]) -> list[Accepted]:
    """Store events durably (one transaction); an event already stored (same source+dedupe key) is not
    stored again, and its existing id is returned with ``duplicate=True``."""
    results: list[Accepted] = []
    with store.begin() as conn:
        for ev in events:
            results.append(_add_one(store, conn, ev))
    return results


def _add_one(store: Store, conn: sa.Connection, ev: NewEvent) -> Accepted:
    stmt = (
        insert_ignore(store, inbox)
        .values(
            source=ev.source,
            route=ev.route,
            dedupe_key=ev.dedupe_key[:255],
            record_key=ev.record_key[:255] if ev.record_key else None,
            payload=ev.payload,
            headers=dumps(ev.headers) if ev.headers else None,
            received_at=now(),
            status="pending",
        )
        .on_conflict_do_nothing(index_elements=["source", "dedupe_key"])
        .returning(inbox.c.id)
    )
    new_id = conn.execute(stmt).scalar()
    if new_id is not None:
        return Accepted(int(new_id), duplicate=False)
    existing = conn.execute(
        sa.select(inbox.c.id).where(inbox.c.source == ev.source, inbox.c.dedupe_key == ev.dedupe_key[:255])
    ).scalar_one()
    return Accepted(int(existing), duplicate=True)


def pending(conn: sa.Connection, *, limit: int, skip_routes: Iterable[str] = ()) -> list[InboxEvent]:
    """The oldest pending events, in arrival order, leaving paused routes queued."""
    query = sa.select(inbox).where(inbox.c.status == "pending").order_by(inbox.c.id).limit(limit)
    skip = list(skip_routes)
    if skip:
        query = query.where(inbox.c.route.not_in(skip))
    return [_event(row) for row in conn.execute(query)]


def get(conn: sa.Connection, event_id: int) -> InboxEvent | None:
    row = conn.execute(sa.select(inbox).where(inbox.c.id == event_id)).first()
    return _event(row) if row else None


def select_for_replay(
    conn: sa.Connection, *, route: str, since: float, until: float | None, record_key: str | None
) -> sa.Select[Any]:
    query = sa.select(inbox).where(inbox.c.route == route, inbox.c.received_at >= since).order_by(inbox.c.id)
    if until is not None:
        query = query.where(inbox.c.received_at < until)
    if record_key is not None:
        query = query.where(inbox.c.record_key == record_key)
    return query


def mark(conn: sa.Connection, event_id: int, status: str, error: str | None = None) -> None:
    conn.execute(sa.update(inbox).where(inbox.c.id == event_id).values(status=status, processed_at=now(), error=error))


def _event(row: Any) -> InboxEvent:
    return InboxEvent(
        id=int(row.id),
        source=row.source,
        route=row.route,
        dedupe_key=row.dedupe_key,
        record_key=row.record_key,
        payload=row.payload,
        received_at=float(row.received_at),
        status=row.status,
    )
