"""Read-only listings for the operators' views (:mod:`bridge.ops`: the admin page and API, `bridge routes`).

Every query is bounded (LIMIT, keyset paging by id) or counts only what an index on status narrows down, so a page
costs the same on a store of a hundred events or a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bridge.store import loads
from bridge.store.schema import flow_state, inbox, outbox, state_field_sql


def recent_events(
    conn: sa.Connection,
    *,
    route: str | None,
    status: str | None,
    before: int | None,
    limit: int,
    hide_sources: Sequence[str] = (),
) -> list[sa.Row[Any]]:
    """The newest events (older pages through ``before``), in the order of the index that serves the filter;
    events of ``hide_sources`` (the scheduled ticks) are skipped as the index walk meets them."""
    columns = [inbox.c.id, inbox.c.route, inbox.c.source, inbox.c.record_key, inbox.c.received_at]
    query = sa.select(*columns, inbox.c.status, inbox.c.error).limit(limit)
    if hide_sources:
        query = query.where(inbox.c.source.not_in(list(hide_sources)))
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
    return list(conn.execute(query))


def _older_than(conn: sa.Connection, event_id: int) -> sa.ColumnElement[bool]:
    """Keyset condition "after event ``event_id`` in (received_at, id) descending order". The plain
    ``received_at <= at`` bound is what lets the (route, received_at) index start at the page: the OR alone is
    no range to an index, so each older page would walk every newer event first."""
    at = conn.execute(sa.select(inbox.c.received_at).where(inbox.c.id == event_id)).scalar()
    if at is None:
        return inbox.c.id < event_id
    newer = sa.or_(inbox.c.received_at < at, sa.and_(inbox.c.received_at == at, inbox.c.id < event_id))
    return sa.and_(inbox.c.received_at <= at, newer)


def operations_of(conn: sa.Connection, events: Sequence[tuple[str, int]]) -> list[sa.Row[Any]]:
    """Operations planned from these ``(route, event id)`` events, in id order. The processor keys them
    `route:event:index[suffix]`, so each event's operations are one range of the unique idempotency-key index
    (outbox.event_id has no index)."""
    if not events:
        return []
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
    # sorted here, not in SQL: an ORDER BY id would tempt SQLite into walking the whole table in id order
    return sorted(conn.execute(query), key=lambda r: int(r.id))


def pending_by_route(conn: sa.Connection) -> dict[str, int]:
    """Pending inbox events per route (the status index narrows them to the unprocessed ones)."""
    query = sa.select(inbox.c.route, sa.func.count()).where(inbox.c.status == "pending").group_by(inbox.c.route)
    return {route: int(count) for route, count in conn.execute(query)}


def oldest_waiting(conn: sa.Connection) -> dict[str, float]:
    """Per route, since when its oldest unfinished work has waited: the oldest pending inbox event or the oldest
    operation pending, retrying or in flight (each narrowed by its status index to the unfinished rows)."""
    found: dict[str, float] = {}
    events = sa.select(inbox.c.route, sa.func.min(inbox.c.received_at)).where(inbox.c.status == "pending")
    ops = sa.select(outbox.c.route, sa.func.min(outbox.c.created_at)).where(
        outbox.c.status.in_(["pending", "retry", "inflight"])
    )
    for query in (events.group_by(inbox.c.route), ops.group_by(outbox.c.route)):
        for route, at in conn.execute(query):
            if at is not None:
                found[route] = min(found.get(route, float(at)), float(at))
    return found


def outbox_by_route(conn: sa.Connection, statuses: Sequence[str]) -> dict[str, dict[str, int]]:
    """Operations per route and status, among ``statuses`` only (never the done bulk)."""
    depth: dict[str, dict[str, int]] = {}
    query = (
        sa.select(outbox.c.route, outbox.c.status, sa.func.count())
        .where(outbox.c.status.in_(list(statuses)))
        .group_by(outbox.c.route, outbox.c.status)
    )
    for route, status, count in conn.execute(query):
        depth.setdefault(route, {})[status] = int(count)
    return depth


def last_delivery(conn: sa.Connection, route: str) -> float | None:
    """When the route's newest delivered operation was done, through the (route, status) index."""
    value = conn.execute(
        sa.select(outbox.c.updated_at)
        .where(outbox.c.route == route, outbox.c.status == "done")
        .order_by(outbox.c.id.desc())
        .limit(1)
    ).scalar()
    return None if value is None else float(value)


def states_where(
    conn: sa.Connection, flow: str, *, prefix: str, equal: dict[str, str], unset: Sequence[str] = (), limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """Up to ``limit`` states of ``flow`` (keys starting ``prefix``) whose top-level fields equal ``equal`` and
    lack each of ``unset``, searched through the (flow, field) expression indexes of migration 0004."""
    dialect = conn.dialect.name
    where = [_field(name, dialect) == value for name, value in equal.items()]
    where += [_field(name, dialect).is_(None) for name in unset]
    return _states(conn, flow, prefix=prefix, where=where, order=None, limit=limit)


def states_newest(
    conn: sa.Connection, flow: str, *, prefix: str, field: str, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """Up to ``limit`` states of ``flow`` (keys starting ``prefix``) where ``field`` is set, greatest first."""
    column = _field(field, conn.dialect.name)
    # `> ''` is a range on the expression index, where IS NOT NULL is no range
    return _states(conn, flow, prefix=prefix, where=[column > ""], order=column.desc(), limit=limit)


def _field(name: str, dialect: str) -> sa.ColumnElement[Any]:
    """One top-level field of the JSON state, as text (NULL when absent or null), spelt as its index is."""
    return sa.literal_column(state_field_sql(name, "postgresql" if dialect == "postgresql" else "sqlite"))


def _states(
    conn: sa.Connection, flow: str, *, prefix: str, where: list[Any], order: Any, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    query = (
        sa.select(flow_state.c.key, flow_state.c.state)
        .where(flow_state.c.flow == flow, *where, flow_state.c.key.startswith(prefix, autoescape=True))
        .limit(limit)
    )
    if order is not None:
        query = query.order_by(order)
    return [(key, loads(text)) for key, text in conn.execute(query)]
