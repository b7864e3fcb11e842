"""Dead letters as an operator works them (:mod:`bridge.ops.dead_letters`): listed, read with what they refer to,
and moved on by guarded UPDATEs, so an admin and the CLI racing on one dead letter cannot both act on it.

The engine writes them (:func:`bridge.store.records.add_dead_letter`, and the outbox's ``finish``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bridge.store import now
from bridge.store.schema import attempts, dead_letters, inbox, outbox


def letters(
    conn: sa.Connection, *, route: str | None, status: str | None, before: int | None, limit: int
) -> list[sa.Row[Any]]:
    """Newest first, keyset-paged by id (``before``), on the (status, route) index."""
    query = sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(dead_letters.c.status == status)
    if route is not None:
        query = query.where(dead_letters.c.route == route)
    if before is not None:
        query = query.where(dead_letters.c.id < before)
    return list(conn.execute(query))


def letter(conn: sa.Connection, letter_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(dead_letters).where(dead_letters.c.id == letter_id)).first()


def open_ids(conn: sa.Connection, route: str, *, after: int, limit: int) -> list[int]:
    """The next ``limit`` open dead letters of ``route`` after id ``after``, in id order (a batch of a backlog)."""
    query = (
        sa.select(dead_letters.c.id)
        .where(dead_letters.c.status == "open", dead_letters.c.route == route, dead_letters.c.id > after)
        .order_by(dead_letters.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def close(conn: sa.Connection, letter_id: int, status: str, *, actor: str, note: str | None = None) -> bool:
    """Move an open dead letter to ``status`` (retried, discarded), saying why (``note``); False if it was not
    open."""
    changed = conn.execute(
        sa.update(dead_letters)
        .where(dead_letters.c.id == letter_id, dead_letters.c.status == "open")
        .values(status=status, resolved_at=now(), resolved_by=actor, resolution_note=note)
    ).rowcount
    return bool(changed)


def reopen(conn: sa.Connection, letter_id: int) -> None:
    """Open a dead letter again (a retry found nothing to send; the caller holds its row in this transaction)."""
    conn.execute(
        sa.update(dead_letters)
        .where(dead_letters.c.id == letter_id)
        .values(status="open", resolved_at=None, resolved_by=None, resolution_note=None)
    )


def requeue_operation(conn: sa.Connection, op_id: int) -> bool:
    """A dead operation back to `retry`, attempts kept; False if it is not dead (or gone).

    It keeps its place (its id), so the record's operations still queued wait behind it. A later operation of
    the record may be in flight meanwhile (a dead letter does not hold its record's queue); the claim only
    looks at earlier ones, so the retried operation is due when those leases end, not now: one record never has
    two operations in flight."""
    t = now()
    later = sa.alias(outbox, "later")
    in_flight_until = (
        sa.select(sa.func.max(later.c.lease_until))
        .where(
            later.c.target_system == outbox.c.target_system,
            later.c.target_key == outbox.c.target_key,
            later.c.id > outbox.c.id,
            later.c.status == "inflight",
        )
        .scalar_subquery()
    )
    due = sa.func.coalesce(in_flight_until, t)
    changed = conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == op_id, outbox.c.status == "dead")
        .values(status="retry", next_attempt_at=due, lease_until=None, lease_owner=None, updated_at=t)
    ).rowcount
    return bool(changed)


def requeue_event(conn: sa.Connection, event_id: int) -> bool:
    """A dead event back to `pending`, to be planned again; False if it is not dead (or gone)."""
    changed = conn.execute(
        sa.update(inbox)
        .where(inbox.c.id == event_id, inbox.c.status == "dead")
        .values(status="pending", processed_at=None, error=None)
    ).rowcount
    return bool(changed)


def status_of(conn: sa.Connection, kind: str, ref_id: int) -> str | None:
    """The status of what a dead letter refers to: an operation (``kind='operation'``) or an event."""
    table = outbox if kind == "operation" else inbox
    return conn.execute(sa.select(table.c.status).where(table.c.id == ref_id)).scalar()


def operation(conn: sa.Connection, op_id: int) -> sa.Row[Any] | None:
    """The outbox row of a dead-lettered operation."""
    return conn.execute(sa.select(outbox).where(outbox.c.id == op_id)).first()


def attempts_of(conn: sa.Connection, op_id: int) -> list[sa.Row[Any]]:
    """Every delivery attempt of an operation, in order."""
    return list(conn.execute(sa.select(attempts).where(attempts.c.op_id == op_id).order_by(attempts.c.attempt)))


def open_counts(conn: sa.Connection, routes: Sequence[str] | None = None) -> dict[str, int]:
    """Open dead letters per route, from the (status, route) index alone."""
    query = (
        sa.select(dead_letters.c.route, sa.func.count())
        .where(dead_letters.c.status == "open")
        .group_by(dead_letters.c.route)
    )
    if routes is not None:
        query = query.where(dead_letters.c.route.in_(list(routes)))
    return {route: int(n) for route, n in conn.execute(query)}
