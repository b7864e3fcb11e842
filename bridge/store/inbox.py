"""The durable inbox: every inbound change is written here before anyone is told it was accepted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store import Store, dumps, now
from bridge.store.schema import inbox, outbox


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
    error: str | None = None


def insert_ignore(store: Store, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect of the store."""
    return dialect_insert(store.is_postgres, table)


def dialect_insert(is_postgres: bool, table: sa.Table) -> Any:
    return (postgresql.insert if is_postgres else sqlite.insert)(table)


def add_events(store: Store, events: Sequence[NewEvent]) -> list[Accepted]:
    """Store events durably in one transaction; an event already stored (same source + dedupe key, also within
    the batch) is not stored again, and comes back with the existing id and ``duplicate=True``.

    The common case (nothing seen before) is one statement: INSERT ... ON CONFLICT DO NOTHING RETURNING the
    rows it wrote; only keys it skipped are looked up, by index, for their existing ids."""
    if not events:
        return []
    keys = [(ev.source, ev.dedupe_key[:255]) for ev in events]
    fresh: dict[tuple[str, str], NewEvent] = {}
    for key, ev in zip(keys, events, strict=True):
        fresh.setdefault(key, ev)
    stmt = _INSERT_RETURNING[store.is_postgres]
    with store.begin() as conn:
        t = now()
        rows = [_row(ev, key, t) for key, ev in fresh.items()]
        stored = {(r.source, r.dedupe_key): int(r.id) for r in conn.execute(stmt, rows)}
        skipped = [key for key in fresh if key not in stored]
        existing = _ids_for(conn, skipped) if skipped else {}
    results: list[Accepted] = []
    answered: set[tuple[str, str]] = set()
    for key in keys:
        if key in stored:
            results.append(Accepted(stored[key], duplicate=key in answered))
            answered.add(key)
        else:
            results.append(Accepted(existing[key], duplicate=True))
    return results


# built once per dialect rather than composed again for every webhook commit
_INSERT_RETURNING = {
    is_postgres: dialect_insert(is_postgres, inbox)
    .on_conflict_do_nothing(index_elements=["source", "dedupe_key"])
    .returning(inbox.c.id, inbox.c.source, inbox.c.dedupe_key)
    for is_postgres in (False, True)
}


def _row(ev: NewEvent, key: tuple[str, str], t: float) -> dict[str, Any]:
    return {
        "source": key[0],
        "route": ev.route,
        "dedupe_key": key[1],
        "record_key": ev.record_key[:255] if ev.record_key else None,
        "payload": ev.payload,
        "headers": dumps(ev.headers) if ev.headers else None,
        "received_at": t,
        "status": "pending",
    }


def known_keys(conn: sa.Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which ``(source, dedupe key)`` pairs the inbox already holds (read only: a dry run's count)."""
    return set(_ids_for(conn, [(source, key[:255]) for source, key in keys]))


def _ids_for(conn: sa.Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of the stored events among ``keys``. Grouped by source into ``source = ? AND dedupe_key IN (...)``:
    SQLite answers a row-value ``(source, dedupe_key) IN (VALUES ...)`` by scanning the whole index, which made
    every webhook commit slower as the inbox grew; this form is an index search on both stores."""
    found: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for source, key in dict.fromkeys(keys):
        by_source.setdefault(source, []).append(key)
    for source, dedupe_keys in by_source.items():
        for start in range(0, len(dedupe_keys), 400):  # stay far below SQLite's bound-parameter limit
            chunk = dedupe_keys[start : start + 400]
            query = sa.select(inbox.c.id, inbox.c.dedupe_key).where(
                inbox.c.source == source, inbox.c.dedupe_key.in_(chunk)
            )
            found.update({(source, key): int(id_) for id_, key in conn.execute(query)})
    return found


def pending(conn: sa.Connection, *, limit: int, skip_routes: Iterable[str] = ()) -> list[InboxEvent]:
    """The oldest pending events, in arrival order, leaving paused routes queued."""
    query = sa.select(inbox).where(inbox.c.status == "pending").order_by(inbox.c.id).limit(limit)
    skip = list(skip_routes)
    if skip:
        query = query.where(inbox.c.route.not_in(skip))
    return [event_of(row) for row in conn.execute(query)]


def get(conn: sa.Connection, event_id: int) -> InboxEvent | None:
    row = conn.execute(sa.select(inbox).where(inbox.c.id == event_id)).first()
    return event_of(row) if row else None


@dataclass(frozen=True)
class Window:
    """A route's events received in ``[since, until)`` (``until`` None: up to now), of one source record if
    ``record_key`` is given, whose status is one of ``statuses`` (what a replay reads again), and with
    ``planned_with`` only those that have an operation planned with that mapping version."""

    route: str
    since: float
    until: float | None
    record_key: str | None
    statuses: tuple[str, ...]
    planned_with: str | None = None


def window_count(conn: sa.Connection, window: Window) -> int:
    """How many events ``window`` holds, from the (route, received_at) index."""
    query = _window(window).with_only_columns(sa.func.count()).order_by(None)
    return int(conn.execute(query).scalar_one())


def window_page(conn: sa.Connection, window: Window, *, after: int, limit: int) -> list[InboxEvent]:
    """The next ``limit`` events of ``window`` after id ``after``, in id order (a keyset page)."""
    query = _window(window).where(inbox.c.id > after).limit(limit)
    return [event_of(row) for row in conn.execute(query)]


def _window(window: Window) -> sa.Select[Any]:
    query = sa.select(inbox).where(inbox.c.route == window.route, inbox.c.received_at >= window.since)
    query = query.order_by(inbox.c.id)
    if window.until is not None:
        query = query.where(inbox.c.received_at < window.until)
    if window.record_key is not None:
        query = query.where(inbox.c.record_key == window.record_key)
    if window.planned_with is not None:
        from bridge.store.mappings import planned_with

        planned = sa.select(outbox.c.event_id).where(outbox.c.route == window.route, planned_with(window.planned_with))
        query = query.where(inbox.c.id.in_(planned))
    return query.where(inbox.c.status.in_(window.statuses))


_MARK = (
    sa.update(inbox)
    .where(inbox.c.id == sa.bindparam("event_id"))
    .values(status=sa.bindparam("status"), processed_at=sa.bindparam("t"), error=sa.bindparam("error"))
)


def mark(conn: sa.Connection, event_id: int, status: str, error: str | None = None) -> None:
    """Settle one event (built once: the planner marks every event it takes up)."""
    conn.execute(_MARK, {"event_id": event_id, "status": status, "t": now(), "error": error})


def mark_done(conn: sa.Connection, event_ids: Sequence[int]) -> None:
    """Settle a batch's planned events in one executemany."""
    if event_ids:
        t = now()
        conn.execute(_MARK, [{"event_id": i, "status": "done", "t": t, "error": None} for i in event_ids])


def event_of(row: Any) -> InboxEvent:
    """An inbox row as an :class:`InboxEvent`."""
    return InboxEvent(
        id=int(row.id),
        source=row.source,
        route=row.route,
        dedupe_key=row.dedupe_key,
        record_key=row.record_key,
        payload=row.payload,
        received_at=float(row.received_at),
        status=row.status,
        error=row.error,
    )


def unsettled(conn: sa.Connection, event_ids: Sequence[int]) -> int:
    """How many of ``event_ids`` are still pending (not yet planned or dead-lettered)."""
    query = sa.select(sa.func.count()).where(inbox.c.id.in_(list(event_ids)), inbox.c.status == "pending")
    return int(conn.execute(query).scalar_one())
