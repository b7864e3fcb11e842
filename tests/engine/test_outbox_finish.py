"""Finishing a batch of outcomes: each row is written only by the attempt that still owns it, on both stores
(PostgreSQL writes a batch as one statement over arrays, SQLite as an executemany)."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from bridge.store import dead_letters as sl
from bridge.store import open_store
from bridge.store import outbox as ob
from bridge.store.schema import attempts, outbox


def _new(n: int) -> list[ob.NewOperation]:
    return [
        ob.NewOperation(
            route="fwd",
            target_system="sink",
            target_key=f"rec-{i}",
            action="post",
            payload={"n": i},
            idempotency_key=f"k-{i}",
        )
        for i in range(n)
    ]


def test_a_batch_of_outcomes_is_written_only_where_the_attempt_still_owns_the_row(store_url: str) -> None:
    store = open_store(store_url)
    store.upgrade()
    try:
        with store.begin() as conn:
            ob.enqueue(conn, store, _new(4))
        first = ob.claim(store, owner="a", limit=4, lease_seconds=30)
        assert len(first) == 4
        stolen = first[3].op.id
        with store.begin() as conn:  # its lease ran out and worker b took it
            conn.execute(sa.update(outbox).where(outbox.c.id == stolen).values(lease_until=0.0))
        again = ob.claim(store, owner="b", limit=4, lease_seconds=30)
        assert [c.op.id for c in again] == [stolen]

        done, retry, other, late = first
        outcomes = [
            ob.Outcome(op_id=done.op.id, attempt=1, status="done", result_id="sys-1"),
            ob.Outcome(
                op_id=retry.op.id,
                attempt=1,
                status="retry",
                next_attempt_at=12345.5,
                error="503 from sink",
                status_code=503,
                earlier=[(1.0, 503, "503 from sink"), (2.0, None, "timed out")],
            ),
            ob.Outcome(op_id=other.op.id, attempt=1, status="done"),
            ob.Outcome(op_id=late.op.id, attempt=1, status="done", result_id="sys-late"),
        ]
        ob.finish(store, outcomes, owner="a")

        with store.begin() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(outbox))}
            history = conn.execute(
                sa.select(attempts.c.op_id, attempts.c.attempt, attempts.c.outcome, attempts.c.worker).where(
                    attempts.c.op_id == retry.op.id
                )
            ).all()
        assert (rows[done.op.id].status, rows[done.op.id].result_id) == ("done", "sys-1")
        assert rows[done.op.id].lease_owner is None
        r = rows[retry.op.id]
        assert (r.status, r.attempts, r.next_attempt_at, r.last_error, r.last_status) == (
            "retry",
            3,  # the claim's attempt and the two in-process tries before it gave the row back
            12345.5,
            "503 from sink",
            503,
        )
        assert rows[other.op.id].status == "done" and rows[other.op.id].result_id is None
        s = rows[stolen]
        assert (s.status, s.lease_owner, s.result_id) == ("inflight", "b", None), "b's attempt is left alone"
        assert sorted((a, o, w) for _, a, o, w in history) == [(1, "retry", "a"), (2, "retry", "a"), (3, "retry", "a")]
    finally:
        store.dispose()


def test_an_outcome_for_an_older_attempt_or_another_owner_changes_nothing(store_url: str) -> None:
    """The guard has two halves: the same worker's outcome for an attempt since superseded, and an outcome whose
    row another worker now holds at the same attempt number; each alone must stop the write."""
    store = open_store(store_url)
    store.upgrade()
    try:
        with store.begin() as conn:
            ob.enqueue(conn, store, _new(3))
        stale, moved, fine = ob.claim(store, owner="a", limit=3, lease_seconds=30)
        with store.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == stale.op.id).values(attempts=2))  # a claimed it again
            conn.execute(sa.update(outbox).where(outbox.c.id == moved.op.id).values(lease_owner="c"))
        ob.finish(
            store,
            [
                ob.Outcome(op_id=c.op.id, attempt=1, status="done", result_id=f"sys-{c.op.id}")
                for c in (stale, moved, fine)
            ],
            owner="a",
        )
        with store.begin() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(outbox))}
        assert (rows[stale.op.id].status, rows[stale.op.id].result_id) == ("inflight", None)
        assert (rows[moved.op.id].status, rows[moved.op.id].lease_owner) == ("inflight", "c")
        assert (rows[fine.op.id].status, rows[fine.op.id].result_id) == ("done", f"sys-{fine.op.id}")
    finally:
        store.dispose()


def test_a_retried_dead_letter_waits_for_its_records_later_operation_in_flight(store_url: str) -> None:
    """A dead letter does not hold its record's queue, so the record's next operation may be in flight when an
    admin retries it: it is due when that lease ends, so one record never has two operations in flight; a
    record with nothing in flight gets it back at once."""
    store = open_store(store_url)
    store.upgrade()
    try:
        with store.begin() as conn:
            ob.enqueue(
                conn, store, [*_new(1), *(replace(op, idempotency_key=f"{op.idempotency_key}-b") for op in _new(2))]
            )
        head, other = ob.claim(store, owner="a", limit=2, lease_seconds=30)
        assert [head.op.target_key, other.op.target_key] == ["rec-0", "rec-1"]
        dead = [
            ob.Outcome(op_id=c.op.id, attempt=1, status="dead", route="fwd", error="gave up") for c in (head, other)
        ]
        ob.finish(store, dead, owner="a")
        (later,) = [c for c in ob.claim(store, owner="b", limit=5, lease_seconds=30) if c.op.target_key == "rec-0"]
        with store.begin() as conn:
            assert sl.requeue_operation(conn, head.op.id) and sl.requeue_operation(conn, other.op.id)
            rows = {r.id: r for r in conn.execute(sa.select(outbox))}
        assert rows[head.op.id].next_attempt_at == rows[later.op.id].lease_until, "due when the later one's lease ends"
        assert [c.op.id for c in ob.claim(store, owner="c", limit=5, lease_seconds=30)] == [other.op.id]
        ob.finish(store, [ob.Outcome(op_id=later.op.id, attempt=1, status="done")], owner="b")
        with store.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == head.op.id).values(next_attempt_at=0.0))
        assert [c.op.id for c in ob.claim(store, owner="c", limit=5, lease_seconds=30)] == [head.op.id]
    finally:
        store.dispose()
