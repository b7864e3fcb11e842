"""The hot path's statements search an index; none scans a whole table.

The inbox, outbox and links tables grow with every alert, so a statement that scans one makes each webhook
commit (or each delivery) slower as the bridge ages. SQLite's row-value ``(a, b) IN (VALUES ...)`` was such a
scan, found by profiling the ingest benchmark; this test reads SQLite's own query plan for every statement the
ingest -> plan -> claim -> finish cycle runs, so any new scan fails here rather than in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.store import Store, links, open_store
from bridge.store import inbox as ib
from bridge.store import outbox as ob
from tests.support.plans import capture, full_scans

GROWING = ("inbox", "outbox", "links")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    s.upgrade()
    yield s
    s.dispose()


def test_ingest_plan_claim_finish_statements_use_indexes(store: Store) -> None:
    events = [
        ib.NewEvent(source="azure-monitor", route="r", dedupe_key=f"k{i}", record_key=f"c{i}", payload="{}")
        for i in range(50)
    ]
    seen = capture(store)
    ib.add_events(store, events)
    assert all(a.duplicate for a in ib.add_events(store, events[:5])), "the redelivery is found by its key"
    with store.begin() as conn:
        pending = ib.pending(conn, limit=10, skip_routes=["paused-route"])
        links.put_link(conn, store, ("servicenow", "sys-1", "partner"), "p-1", version_b="1")
        ob.enqueue(
            conn,
            store,
            [
                ob.NewOperation(
                    route="r",
                    target_system="partner",
                    target_key=f"c{e.id}",
                    action="post",
                    payload={},
                    idempotency_key=f"op-{e.id}",
                    link_system="servicenow",
                    link_id="sys-1",
                    event_id=e.id,
                )
                for e in pending
            ],
        )
        for e in pending:
            ib.mark(conn, e.id, "done")
    claimed = ob.claim(store, owner="w", limit=10, lease_seconds=30, paused=["paused-route"])
    ob.finish_and_claim(store, [], owner="w", limit=10, lease_seconds=30, window=100)  # the windowed claim
    assert claimed and all(c.op.target_id == "p-1" for c in claimed), "the link's target id is resolved"
    ob.finish(store, [ob.Outcome(op_id=c.op.id, attempt=c.op.attempts, status="done") for c in claimed], owner="w")

    statements = [(sql, params) for sql, params in seen if any(t in sql for t in GROWING)]
    assert len(statements) >= 8, "the capture saw the cycle's statements"
    assert full_scans(store, statements) == []


def test_the_check_catches_a_row_value_in(store: Store) -> None:
    """The form that used to scan (a whole pass over the dedupe index) is reported by the check."""
    sql = "SELECT id FROM inbox WHERE (source, dedupe_key) IN (VALUES (?, ?), (?, ?))"
    assert full_scans(store, [(sql, ("a", "b", "c", "d"))]) != []


def test_planning_an_alert_lifecycle_uses_indexes(tmp_path: Path) -> None:
    """The Azure flow's own reads while planning (links, flow state, earlier events) search an index too."""
    from bridge.config import load_config
    from bridge.runtime import build_runtime
    from tests.conftest import write_config

    root = Path(__file__).resolve().parents[2]
    path = write_config(
        tmp_path,
        {
            "store": {"url": f"sqlite:///{tmp_path / 'flow.db'}"},
            "mappings_dir": str(root / "config/mappings"),
            "targets": {
                "sn": {
                    "kind": "servicenow",
                    "instance_url": "http://127.0.0.1:9",
                    "auth": {"type": "basic", "username": "u", "password": "p"},
                }
            },
            "routes": [{"name": "azure", "kind": "azure-alert", "target": "sn"}],
        },
    )
    runtime = build_runtime(load_config(path, environ={}))
    try:
        from bridge.mappings.azure_alert import dedupe_key, parse_alert

        fixtures = root / "tests/fixtures/azure"
        seen = capture(runtime.store)
        for i, name in enumerate(
            ("common_metric_static_fired", "common_metric_static_fired", "common_metric_static_resolved")
        ):
            body = (fixtures / f"{name}.json").read_bytes()
            alert = parse_alert(body)
            event = ib.NewEvent(
                source="azure-monitor",
                route="azure",
                dedupe_key=f"{dedupe_key(alert)}:{i}",  # a re-notification is a new delivery
                record_key=alert.correlation_key,
                payload=body.decode(),
            )
            runtime.ingest([event])
            assert runtime.processor.process_batch() == 1
        statements = [(sql, params) for sql, params in seen if "sqlite_master" not in sql]
        with runtime.store.begin() as conn:
            ops = conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()
        assert ops >= 2, "the lifecycle planned its operations"
        assert any("flow_state" in sql for sql, _ in statements), "the capture saw the flow's own reads"
        assert full_scans(runtime.store, statements) == []
    finally:
        runtime.writer.close()
        runtime.store.dispose()


def test_the_overview_and_its_sampler_use_indexes(tmp_path: Path) -> None:
    """The admin overview (route health, oldest waiting work, the day's activity slots, partner and desk clocks)
    and the activity sampler's counts of a finished slot (attempts and dead letters by time) search indexes."""
    from fastapi.testclient import TestClient

    from bridge.ops import activity
    from bridge_emulators.http_target import CountingTarget
    from tests.ops.support import ADMIN_TOKEN, admin_app, ops_runtime, seed

    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=f"sqlite:///{tmp_path / 'overview.db'}", target_url=target.url)
        try:
            seed(runtime.store, events=500, dead_every=7)
            client = TestClient(admin_app(runtime))
            seen = capture(runtime.store)
            assert client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
            now = [1_800_000_000.0]
            job = activity.sample_job(runtime.store, ["fwd"], clock=lambda: now[0])
            job()
            now[0] += 400  # the slot is over: this sample counts it
            job()
            statements = [(sql, params) for sql, params in seen if "sqlite_master" not in sql]
            assert any("outbox_attempts" in sql for sql, _ in statements), "the capture saw the slot's count"
            assert full_scans(runtime.store, statements) == []
        finally:
            runtime.stop()
