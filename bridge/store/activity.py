"""The activity samples behind the admin overview's 24-hour charts (migration 0011).

Counting a day of deliveries at every page view would cost what the day delivered; instead a sampler job writes
one row per route per five-minute slot (:func:`sample`), and a page reads at most a day of slots
(:func:`slots_since`, a range of the primary key). A slot's queue depth is the one seen by its first sample; its
deliveries, retries and dead letters are counted once the slot is over, through the time indexes on
``outbox_attempts.at`` and ``dead_letters.created_at``. Two daemons sampling the same slot write one row (the
primary key); the counts are the same whoever takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bridge.store import Store, views
from bridge.store.inbox import insert_ignore
from bridge.store.schema import activity_samples, attempts, dead_letters, outbox

SLOT_SECONDS = 300
#: a slot is counted this long after it ends, so the attempts finishing in its last moments are in
LAG_SECONDS = 30
#: slots kept (a week and a day, so the overview's day and a week's look back both fit)
KEEP_SECONDS = 8 * 86_400
#: finished slots a sample counts (a daemon back from an hour's stop fills that hour)
CATCH_UP = 12
QUEUED = ("pending", "retry", "inflight")


def slot_of(t: float) -> float:
    return float(int(t // SLOT_SECONDS) * SLOT_SECONDS)


def sample(conn: sa.Connection, store: Store, routes: Sequence[str], *, now: float) -> None:
    """Note each route's queue depth in the current slot (first sample wins), count the finished slots of the
    last hour not counted yet, and forget slots older than :data:`KEEP_SECONDS`."""
    current = slot_of(now)
    pending = views.pending_by_route(conn)
    ops = views.outbox_by_route(conn, QUEUED)
    rows = [{"slot": current, "route": r, "queued": pending.get(r, 0) + sum(ops.get(r, {}).values())} for r in routes]
    if rows:
        conn.execute(insert_ignore(store, activity_samples).on_conflict_do_nothing(), rows)
    finished = current if now - current >= LAG_SECONDS else current - SLOT_SECONDS
    uncounted = conn.execute(
        sa.select(activity_samples.c.slot)
        .where(
            activity_samples.c.slot >= finished - CATCH_UP * SLOT_SECONDS,
            activity_samples.c.slot < finished,
            activity_samples.c.delivered.is_(None),
        )
        .group_by(activity_samples.c.slot)
    ).scalars()
    for slot in list(uncounted):
        _count(conn, float(slot))
    conn.execute(sa.delete(activity_samples).where(activity_samples.c.slot < current - KEEP_SECONDS))


def _count(conn: sa.Connection, slot: float) -> None:
    """Fill one finished slot's deliveries, retries and dead letters, per route."""
    end = slot + SLOT_SECONDS
    found: dict[str, dict[str, int]] = {}
    by_outcome = (
        sa.select(outbox.c.route, attempts.c.outcome, sa.func.count())
        .select_from(attempts.join(outbox, outbox.c.id == attempts.c.op_id))
        .where(attempts.c.at >= slot, attempts.c.at < end)
        .group_by(outbox.c.route, attempts.c.outcome)
    )
    for route, outcome, n in conn.execute(by_outcome):
        found.setdefault(route, {})[outcome] = int(n)
    letters = (
        sa.select(dead_letters.c.route, sa.func.count())
        .where(dead_letters.c.created_at >= slot, dead_letters.c.created_at < end)
        .group_by(dead_letters.c.route)
    )
    for route, n in conn.execute(letters):
        found.setdefault(route, {})["letters"] = int(n)
    update = (
        sa.update(activity_samples)
        .where(activity_samples.c.slot == slot, activity_samples.c.route == sa.bindparam("b_route"))
        .values(delivered=sa.bindparam("b_done"), retried=sa.bindparam("b_retry"), dead=sa.bindparam("b_dead"))
    )
    routes = conn.execute(sa.select(activity_samples.c.route).where(activity_samples.c.slot == slot)).scalars()
    params = [
        {
            "b_route": route,
            "b_done": found.get(route, {}).get("done", 0),
            "b_retry": found.get(route, {}).get("retry", 0),
            "b_dead": found.get(route, {}).get("letters", 0),
        }
        for route in routes
    ]
    if params:
        conn.execute(update, params)


def slots_since(conn: sa.Connection, since: float) -> list[sa.Row[Any]]:
    """Every sampled slot from ``since`` on, summed over routes, oldest first: ``slot, queued, delivered,
    retried, dead`` (a count is NULL while its slot is not counted)."""
    c = activity_samples.c
    query = (
        sa.select(c.slot, sa.func.sum(c.queued), sa.func.sum(c.delivered), sa.func.sum(c.retried), sa.func.sum(c.dead))
        .where(c.slot >= since)
        .group_by(c.slot)
        .order_by(c.slot)
    )
    return list(conn.execute(query))
