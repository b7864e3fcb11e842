"""The engine end to end in one process: inbox -> processor -> outbox -> dispatcher -> a real HTTP target."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bridge.store.schema import attempts, dead_letters, inbox, outbox
from bridge_emulators.http_target import CountingTarget
from tests.support.engine import enqueue_ops, event, forward_runtime


def test_events_flow_to_target_in_order_per_record(tmp_path: Path, store_url: str) -> None:
    with CountingTarget() as target:
        rt = forward_runtime(tmp_path, target_url=target.url, db_url=store_url)
        events = [event(f"r{r}", s) for s in range(5) for r in range(20)]
        accepted = rt.ingest(events)
        assert not any(a.duplicate for a in accepted)
        assert rt.processor.drain() == 100
        assert rt.dispatcher.drain(timeout=30)
        rt.stop()
    assert len(target.state.applied) == 100
    assert target.state.raw == 100
    assert all(seqs == [0, 1, 2, 3, 4] for seqs in target.state.by_record().values())


def test_redelivered_event_is_stored_once(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        rt = forward_runtime(tmp_path, target_url=target.url, db_url=sqlite_url)
        first = rt.ingest([event("a", 1)])[0]
        again = rt.ingest([event("a", 1)])[0]
        assert again.duplicate and again.event_id == first.event_id
        rt.processor.drain()
        rt.dispatcher.drain(timeout=10)
        with rt.store.begin() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar() == 1
        rt.stop()
    assert len(target.state.applied) == 1


def test_transient_failures_are_retried_until_delivered(tmp_path: Path, store_url: str) -> None:
    with CountingTarget() as target:
        target.state.script = {
            "op-0-0": [("status", 503), ("status", 503)],
            "op-1-0": [("status", 429, 2)],
            "op-2-0": [("drop",), ("drop",)],
            "op-3-0": [("stall", 3)],
            "op-4-0": [("status", 500), ("status", 502), ("status", 504), ("status", 408)],
        }
        rt = forward_runtime(tmp_path, target_url=target.url, db_url=store_url)
        enqueue_ops(rt, records=6, per_record=2)
        assert rt.dispatcher.drain(timeout=60)
        with rt.store.begin() as conn:
            statuses = dict(conn.execute(sa.select(outbox.c.idempotency_key, outbox.c.status)).all())
            history = conn.execute(
                sa.select(attempts.c.at, attempts.c.outcome)
                .join(outbox, outbox.c.id == attempts.c.op_id)
                .where(outbox.c.idempotency_key == "op-1-0")
                .order_by(attempts.c.attempt)
            ).all()
        rt.stop()
    assert set(statuses.values()) == {"done"}
    assert len(target.state.applied) == 12
    assert [o for _, o in history] == ["retry", "done"]
    assert history[1].at - history[0].at >= 1.9, "Retry-After: 2 must be honoured"
    assert all(seqs == [0, 1] for seqs in target.state.by_record().values())


def test_bad_request_goes_straight_to_dead_letters(tmp_path: Path, store_url: str) -> None:
    with CountingTarget() as target:
        target.state.script = {"op-0-0": [("status", 400)]}
        rt = forward_runtime(tmp_path, target_url=target.url, db_url=store_url)
        enqueue_ops(rt, records=2, per_record=2)
        assert rt.dispatcher.drain(timeout=30)
        with rt.store.begin() as conn:
            dead = conn.execute(sa.select(dead_letters)).all()
            row = conn.execute(sa.select(outbox).where(outbox.c.idempotency_key == "op-0-0")).one()
        rt.stop()
    assert row.status == "dead" and row.attempts == 1
    assert len(dead) == 1 and "HTTP 400" in dead[0].reason and "scripted 400" in dead[0].reason
    assert target.state.per_key_raw["op-0-0"] == 1
    # the record's later operation still went (a dead op does not block its record forever)
    assert len(target.state.applied) == 3


def test_out_of_attempts_is_dead_lettered(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        target.state.default_script = [("status", 503)] * 10
        rt = forward_runtime(tmp_path, target_url=target.url, db_url=sqlite_url, max_attempts=3)
        enqueue_ops(rt, records=1, per_record=1)
        assert rt.dispatcher.drain(timeout=30)
        with rt.store.begin() as conn:
            dead = conn.execute(sa.select(dead_letters)).one()
        rt.stop()
    assert "gave up after 3 attempts" in dead.reason
    assert target.state.raw == 3
