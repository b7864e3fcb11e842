"""Pause and resume: a paused route keeps queueing, then delivers in order; `bridge routes` shows it all."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bridge.store.schema import audit, inbox, route_state
from bridge_emulators.http_target import CountingTarget
from tests.ops.support import ADMIN_TOKEN, admin_app, cli_app, count, ops_config, ops_runtime
from tests.support.engine import event

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_paused_route_queues_then_delivers_in_order_on_resume(tmp_path: Path, store_url: str) -> None:
    runner = CliRunner(env={"USER": "carol"})
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=store_url, target_url=target.url)
        config = ops_config(tmp_path, db_url=store_url, target_url=target.url)
        client = TestClient(admin_app(runtime))
        try:
            paused = runner.invoke(cli_app(), ["pause", "fwd", "--config", str(config)])
            assert paused.exit_code == 0 and "route fwd paused (was running)" in paused.stdout
            runtime.ingest([event("r1", seq) for seq in range(5)])
            assert runtime.processor.drain() == 0, "nothing is planned for a paused route"
            assert count(runtime.store, inbox, inbox.c.status == "pending") == 5
            shown = runner.invoke(cli_app(), ["routes", "--config", str(config)])
            assert shown.exit_code == 0
            assert "paused" in shown.stdout.splitlines()[1] and "     5 " in shown.stdout.splitlines()[1]
            listed = json.loads(runner.invoke(cli_app(), ["routes", "--json", "--config", str(config)]).stdout)
            assert listed[0]["paused"] and listed[0]["paused_by"] == "carol" and listed[0]["inbox_pending"] == 5

            resumed = client.post("/admin/api/routes/fwd/resume", headers=AUTH)
            assert resumed.json() == {"route": "fwd", "paused": False, "was_paused": True}
            assert runtime.processor.drain() == 5
            assert runtime.dispatcher.drain(timeout=20)
            health = client.get("/admin/api/routes", headers=AUTH).json()
            with runtime.store.begin() as conn:
                trail = [(a.actor, a.action) for a in conn.execute(sa.select(audit).order_by(audit.c.id))]
                state = conn.execute(sa.select(route_state)).one()
        finally:
            runtime.stop()
    assert target.state.by_record() == {"r1": [0, 1, 2, 3, 4]}
    assert health[0]["inbox_pending"] == 0 and health[0]["last_delivery"] is not None and not health[0]["paused"]
    assert trail == [("carol", "pause"), ("admin-api", "resume")]
    assert state.updated_by == "admin-api" and not state.paused


def test_pause_of_an_unknown_route_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        config = ops_config(tmp_path, db_url=sqlite_url, target_url=target.url)
        client = TestClient(admin_app(runtime))
        try:
            result = CliRunner().invoke(cli_app(), ["pause", "nope", "--config", str(config)])
            api = client.post("/admin/api/routes/nope/pause", headers=AUTH)
        finally:
            runtime.stop()
    assert result.exit_code == 2 and "no route named 'nope'" in result.stderr
    assert api.status_code == 404
