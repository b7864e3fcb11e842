"""One record's queue under failures: retried in-process at the head, in order, honouring `Retry-After` exactly.

Every later operation of a record waits behind a failing one, so the dispatcher retries a transient failure at
once in-process (while it holds the lease) instead of handing the row back for a backoff. The waits go through
an injected sleep, so these tests record what the dispatcher asked to wait and never wait themselves.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bridge.config import load_config
from bridge.engine.dispatcher import Dispatcher
from bridge.errors import RateLimitedError, TransientError
from bridge.failures import backoff_seconds, decide, inline_wait
from bridge.runtime import Runtime, build_runtime
from bridge.store import links
from bridge.store import outbox as ob
from bridge.store.schema import attempts, outbox
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.support.engine import enqueue_ops, forward_config


def _dispatcher(rt: Runtime, waits: list[float], **settings: object) -> Dispatcher:
    """The runtime's adapters and store, with an injected sleep that records each wait and returns at once."""
    config = rt.dispatcher.settings.model_copy(update=settings)
    return Dispatcher(rt.store, rt.dispatcher.adapters, config, owner="test", sleep=waits.append)


def _history(rt: Runtime, key: str) -> list[tuple[int, str, int | None]]:
    with rt.store.begin() as conn:
        rows = conn.execute(
            sa.select(attempts.c.attempt, attempts.c.outcome, attempts.c.status_code)
            .join(outbox, outbox.c.id == attempts.c.op_id)
            .where(outbox.c.idempotency_key == key)
            .order_by(attempts.c.attempt)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_retry_after_is_waited_exactly_in_process(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        target.state.script = {"op-0-0": [("status", 429, 2.5)], "op-0-1": [("status", 503, None), ("drop",)]}
        rt = build_runtime(load_config(forward_config(tmp_path, target_url=target.url, db_url=sqlite_url)))
        waits: list[float] = []
        dispatcher = _dispatcher(rt, waits, inline_budget_seconds=10, inline_backoff_seconds=0.01)
        enqueue_ops(rt, records=1, per_record=2)
        assert dispatcher.drain(timeout=30)
        first, second = _history(rt, "op-0-0"), _history(rt, "op-0-1")
        rt.stop()
    assert waits[0] == 2.5, "the target's Retry-After, neither more nor less"
    assert all(0 <= w <= 0.02 for w in waits[1:3]), "transient failures: short jittered waits"
    assert first == [(1, "retry", 429), (2, "done", None)], "each try is an attempt in the history"
    assert second == [(1, "retry", 503), (2, "retry", None), (3, "done", None)]
    assert target.state.by_record() == {"rec-0": [0, 1]}


def test_retry_after_beyond_the_budget_gives_the_row_back_due_exactly_then(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        target.state.script = {"op-0-0": [("status", 429, 600)]}
        rt = build_runtime(load_config(forward_config(tmp_path, target_url=target.url, db_url=sqlite_url)))
        waits: list[float] = []
        dispatcher = _dispatcher(rt, waits, inline_budget_seconds=3)
        enqueue_ops(rt, records=1, per_record=1)
        dispatcher.drain(timeout=0.5)  # the row goes back for 600 s: drain cannot finish, and must not wait it out
        with rt.store.begin() as conn:
            row = conn.execute(sa.select(outbox.c.status, outbox.c.next_attempt_at, outbox.c.updated_at)).one()
        dispatcher.stop()
        rt.stop()
    assert waits == [], "no in-process wait longer than the budget"
    assert row.status == "retry"
    assert 590 <= row.next_attempt_at - row.updated_at <= 600, "due when the target said, not later"


def test_a_row_given_back_waits_by_the_tries_before_its_claim(tmp_path: Path, sqlite_url: str) -> None:
    """Five failures in a row within one claim are one bad moment, not five: the row goes back for the first
    backoff step (1 s), and only a claim that fails again waits longer (32 s after the five tries before it)."""
    with CountingTarget() as target:
        target.state.script = {"op-0-0": [("status", 503, None)] * 10}
        rt = build_runtime(load_config(forward_config(tmp_path, target_url=target.url, db_url=sqlite_url)))
        waits: list[float] = []
        dispatcher = _dispatcher(
            rt, waits, inline_retries=4, backoff_initial_seconds=1, backoff_max_seconds=300, backoff_jitter_seconds=0
        )
        enqueue_ops(rt, records=1, per_record=1)
        due: list[float] = []
        for _ in range(2):
            dispatcher.drain(timeout=0.5)  # the row goes back: drain cannot finish, and must not wait it out
            with rt.store.begin() as conn:
                row = conn.execute(sa.select(outbox.c.status, outbox.c.next_attempt_at, outbox.c.updated_at)).one()
                assert row.status == "retry"
                due.append(row.next_attempt_at - row.updated_at)
                conn.execute(sa.update(outbox).values(next_attempt_at=0))  # claim it again now
        dispatcher.stop()
        history = _history(rt, "op-0-0")
        rt.stop()
    assert [len(waits), len(history)] == [8, 10], "four in-process retries in each of two claims"
    assert 0.9 <= due[0] <= 1.0, "the first time back: the first backoff step"
    assert 31 <= due[1] <= 32, "the second time: grown by the five tries before the claim"


def test_backoff_takes_retry_after_as_given() -> None:
    assert backoff_seconds(1, 42.0, initial=1, maximum=5, jitter=1) == 42.0
    assert backoff_seconds(9, 0.5, initial=1, maximum=300, jitter=1) == 0.5, "never stretched to the backoff"
    assert inline_wait(3, 1.25, initial=0.02, maximum=3) == 1.25
    assert all(0 <= inline_wait(t, None, initial=0.02, maximum=3) <= 0.02 * 2 ** (t - 1) for t in range(1, 6))


def test_one_record_keeps_its_order_through_every_kind_of_failure(tmp_path: Path, sqlite_url: str) -> None:
    """Forty updates of one record, most failing first (503, 500, dropped, 429 with Retry-After, and more
    failures in a row than the in-process tries, so some rows go back to the store): each applied once, in
    order."""
    kinds = [
        [("status", 503, None)],
        [("drop",)],
        [("status", 429, 0.5)],
        [("status", 500, None), ("drop",), ("status", 502, None)],
        [("status", 503, None)] * 7,  # past the in-process tries: back to the store, claimed again
        [],
    ]
    with CountingTarget() as target:
        target.state.script = {f"op-0-{s}": kinds[s % len(kinds)] for s in range(40)}
        config = forward_config(tmp_path, target_url=target.url, db_url=sqlite_url, backoff_initial_seconds=0.01)
        rt = build_runtime(load_config(config))
        waits: list[float] = []
        dispatcher = _dispatcher(rt, waits, inline_retries=4, backoff_max_seconds=0.05)
        enqueue_ops(rt, records=1, per_record=40)
        assert dispatcher.drain(timeout=60)
        rt.stop()
    assert target.state.by_record() == {"rec-0": list(range(40))}
    assert len(target.state.applied) == 40
    assert 0.5 in waits, "the 429's Retry-After was waited exactly"


def test_one_incident_gets_every_work_note_once_and_in_order_under_emulator_faults(tmp_path: Path) -> None:
    """The real adapter and the ServiceNow emulator failing 20% of calls (500, 503, dropped, stalled past the
    read timeout) and rate-limiting: the journal holds every note once, in order."""
    n = 60
    with ServiceNowEmulator(stall_seconds=5) as emu:
        incident = emu.state.insert("incident", {"short_description": "busy"})
        emu.set_faults(fault_rate=0.2, rate_limit=20, seed=5)
        target = {
            "kind": "servicenow",
            "instance_url": emu.url,
            "auth": {"type": "basic", "username": "admin", "password": "admin"},
            "timeout": {"connect": 1, "read": 0.5},
            "requests_per_second": 1000,
            "burst": 100,
        }
        settings = {"store": {"url": f"sqlite:///{tmp_path / 'b.db'}"}, "targets": {"sn": target}}
        settings["dispatcher"] = {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2}
        rt = build_runtime(load_config(write_config(tmp_path, settings)))
        ops = [
            ob.NewOperation(
                route="r",
                target_system="sn",
                target_key="incident:1",
                action="work_note",
                payload={"table": "incident", "text": f"note {i:03d}"},
                idempotency_key=f"note-{i}",
                link_system="src",
                link_id="1",
            )
            for i in range(n)
        ]
        with rt.store.begin() as conn:
            links.put_link(conn, rt.store, ("src", "1", "sn"), incident["sys_id"])
            ob.enqueue(conn, rt.store, ops)
        assert rt.dispatcher.drain(timeout=120)
        rt.stop()
        emu.set_faults(fault_rate=0.0, rate_limit=0)
        notes = [j["value"] for j in emu.state.journal(incident["sys_id"]) if j["element"] == "work_notes"]
        faults = emu.stats()["faults"]
    assert notes == [f"note {i:03d}" for i in range(n)]
    assert faults, "the emulator did fail calls"


def test_only_a_refused_try_is_known_to_have_had_no_effect() -> None:
    """408, 429 and 503 say the target did not take the request; a 500, a gateway error or no answer may
    have taken effect, so the retry looks first (a journal read before a comment, a lookup before a create)."""
    assert all(decide(TransientError("x", status=s)).refused for s in (408, 503))
    assert decide(RateLimitedError("x", retry_after=1)).refused
    assert not any(decide(TransientError("x", status=s)).refused for s in (500, 502, 504))
    assert not decide(TransientError("no answer")).refused
