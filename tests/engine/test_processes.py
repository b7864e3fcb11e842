"""Real processes: several `bridge worker`s on PostgreSQL, `kill -9` of `bridge run`, SIGTERM shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.store import outbox as ob
from bridge.store.schema import attempts
from bridge_emulators.http_target import CountingTarget
from tests.support.engine import enqueue_ops, forward_config
from tests.support.procs import bridge_process, free_port, kill9, terminate, wait_ready
from tests.support.waiting import wait_for

TOKEN = "t0k3n-for-tests"
pytestmark = pytest.mark.e2e  # `bridge run` / `bridge worker` processes


def _unfinished(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return ob.unfinished(conn)
    finally:
        engine.dispose()


def _wait_until_finished(url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _unfinished(url) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _unfinished(url) == 0, "operations left unfinished"


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_on_postgres_apply_each_operation_once_in_order(tmp_path: Path, pg_url: str) -> None:
    with CountingTarget(latency=0.002) as target:
        config = forward_config(tmp_path, target_url=target.url, db_url=pg_url, workers=8)
        runtime = build_runtime(load_config(config))
        total = enqueue_ops(runtime, records=500, per_record=10)
        runtime.store.dispose()
        workers = [bridge_process("worker", "--config", str(config), log=tmp_path / f"w{i}.log") for i in range(3)]
        try:
            _wait_until_finished(pg_url, timeout=180)
        finally:
            codes = [terminate(w) for w in workers]
        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            per_worker = dict(
                conn.execute(sa.select(attempts.c.worker, sa.func.count()).group_by(attempts.c.worker)).all()
            )
        engine.dispose()
    assert codes == [0, 0, 0], "workers exit cleanly on SIGTERM"
    assert total == 5000
    assert len(target.state.applied) == 5000
    assert target.state.raw == 5000, "no operation was delivered twice"
    assert len(per_worker) == 3 and all(n > 100 for n in per_worker.values()), per_worker
    orders = target.state.by_record()
    assert len(orders) == 500
    assert all(seqs == list(range(10)) for seqs in orders.values())


def _dead_letters(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM dead_letters")).scalar_one())
    finally:
        engine.dispose()


def _send_all(url: str, records: int, seqs: int, stop: threading.Event) -> None:
    """Post every event, per record in order; retry until acknowledged, as Azure or a partner would."""
    session = requests.Session()
    for s in range(seqs):
        for r in range(records):
            body = {"record": f"rec-{r}", "seq": s}
            while not stop.is_set():
                try:
                    response = session.post(url, json=body, headers={"Idempotency-Key": f"rec-{r}:{s}"}, timeout=5)
                    if response.status_code in (200, 202):
                        break
                except requests.RequestException:
                    session = requests.Session()
                time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_minus_nine_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    db_url = f"sqlite:///{tmp_path / 'bridge.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    records, seqs = 50, 10
    with CountingTarget(latency=0.005) as target:
        # a killed PostgreSQL worker's rows come back when their lease ends; SQLite takes them back at start
        # generous timeouts and attempts: this test is about crashes, and a target starved of CPU on a loaded
        # machine must not turn a slow answer into a give-up (a dead operation lets its record's next one go)
        config = forward_config(
            tmp_path,
            target_url=target.url,
            db_url=db_url,
            read_timeout=30,
            workers=8,
            lease_seconds=5,
            max_attempts=1000,
            max_age_seconds=3600,
        )
        args = ("run", "--config", str(config), "--port", str(port))
        proc = bridge_process(*args, log=tmp_path / "run.log")
        wait_ready(base, proc)
        stop = threading.Event()
        sender = threading.Thread(
            target=_send_all, args=(f"{base}/webhooks/forward/fwd?token={TOKEN}", records, seqs, stop)
        )
        sender.start()
        kills = 0
        try:
            while sender.is_alive() or kills < 2:
                time.sleep(1.0)
                kill9(proc)
                kills += 1
                proc = bridge_process(*args, log=tmp_path / "run.log")
                wait_ready(base, proc)
            sender.join(120)
            deadline = time.monotonic() + 60
            while len(target.state.applied) < records * seqs and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop.set()
            code = terminate(proc)
    assert kills >= 2
    assert code == 0
    assert _dead_letters(db_url) == 0, "nothing gave up"
    assert len(target.state.applied) == records * seqs, "nothing lost"
    assert len(target.state.keys) == records * seqs, "nothing applied twice"
    assert all(n >= 1 for n in target.state.per_key_raw.values())
    assert all(item.record is not None and item.seq is not None for item in target.state.applied), (
        "every applied delivery carried its whole body"
    )
    orders = target.state.by_record()
    broken = {record: seq_list for record, seq_list in orders.items() if seq_list != list(range(seqs))}
    assert not broken, "per-record order kept across kill -9 restarts"


@pytest.mark.slow
def test_sigterm_finishes_in_flight_work_and_exits_zero_without_draining_the_backlog(
    tmp_path: Path, sqlite_url: str
) -> None:
    port = free_port()
    with CountingTarget(latency=0.5) as target:
        config = forward_config(tmp_path, target_url=target.url, db_url=sqlite_url, workers=4)
        runtime = build_runtime(load_config(config))
        enqueue_ops(runtime, records=40, per_record=1)
        runtime.store.dispose()
        args = ("run", "--config", str(config), "--port", str(port))
        proc = bridge_process(*args, log=tmp_path / "run.log")
        wait_ready(f"http://127.0.0.1:{port}", proc)
        wait_for(lambda: target.state.applied, timeout=60, what="the first delivery")
        code = terminate(proc)  # SIGTERM; a stop that hung would fail here (terminate waits 15 s at most)
        assert code == 0
        delivered_before_restart = len(target.state.applied)
        # 40 operations at 0.5 s each on 4 workers take 5 s: a stop that drained the backlog would deliver all
        assert 0 < delivered_before_restart < 40, "stopped after the in-flight deliveries, not after the backlog"
        proc = bridge_process(*args, log=tmp_path / "run.log")
        wait_ready(f"http://127.0.0.1:{port}", proc)
        deadline = time.monotonic() + 30
        while len(target.state.applied) < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        terminate(proc)
    assert len(target.state.applied) == 40
    assert target.state.raw == 40, "a graceful stop delivers nothing twice"
