"""Dead letters through the CLI and the admin API: list, show, retry (operations and events), discard, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bridge.runtime import Runtime
from bridge.store import inbox as ib
from bridge.store.schema import audit, dead_letters, inbox, outbox
from bridge_emulators.http_target import CountingTarget
from tests.ops.support import ADMIN_TOKEN, admin_app, cli_app, count, ops_config, ops_runtime
from tests.support.engine import event

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class World:
    runtime: Runtime
    target: CountingTarget
    config: Path
    client: TestClient
    runner: CliRunner

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(cli_app(), [*args, "--config", str(self.config)])
        return result.exit_code, result.stdout, result.stderr

    def settle(self) -> None:
        self.runtime.processor.drain()
        assert self.runtime.dispatcher.drain(timeout=20)


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    """Three events; the first one's operation is refused (400) once, the third is not JSON (mapping failure)."""
    with CountingTarget() as target:
        target.state.script = {"fwd:1:0": [("status", 400)]}
        runtime = ops_runtime(tmp_path, db_url=store_url, target_url=target.url)
        config = ops_config(tmp_path, db_url=store_url, target_url=target.url)
        bad = ib.NewEvent(source="forward", route="fwd", dedupe_key="bad", record_key="c", payload="{not json")
        runtime.ingest([event("a", 1), event("b", 1), bad])
        w = World(runtime, target, config, TestClient(admin_app(runtime)), CliRunner(env={"USER": "alice"}))
        w.settle()
        try:
            yield w
        finally:
            runtime.stop()


def _letters(runtime: Runtime) -> dict[str, int]:
    with runtime.store.begin() as conn:
        return {row.kind: int(row.id) for row in conn.execute(sa.select(dead_letters))}


def test_cli_lists_and_shows_payload_answer_and_attempts(world: World) -> None:
    code, out, _ = world.cli("dlq", "list")
    assert code == 0
    assert "operation" in out and "event" in out and "HTTP 400" in out
    op_letter = _letters(world.runtime)["operation"]
    code, out, _ = world.cli("dlq", "show", str(op_letter))
    assert code == 0
    assert "scripted 400" in out  # the target's answer
    assert '"record": "a"' in out  # the payload
    assert "#1" in out and "dead" in out and "400" in out  # the attempt history
    code, out, _ = world.cli("dlq", "show", str(op_letter), "--json")
    shown = json.loads(out)
    assert shown["idempotency_key"] == "fwd:1:0" and len(shown["attempts"]) == 1
    assert shown["target_answer"] == '{"error": "scripted 400"}'
    code, out, _ = world.cli("dlq", "list", "--status", "retried", "--json")
    assert code == 0 and json.loads(out) == []


def test_cli_retry_redelivers_with_attempts_kept_and_audits(world: World) -> None:
    letter = _letters(world.runtime)["operation"]
    code, out, _ = world.cli("dlq", "retry", str(letter))
    assert code == 0 and "queued again" in out
    with world.runtime.store.begin() as conn:
        op = conn.execute(sa.select(outbox).where(outbox.c.idempotency_key == "fwd:1:0")).one()
        row = conn.execute(sa.select(dead_letters).where(dead_letters.c.id == letter)).one()
        trail = conn.execute(sa.select(audit).where(audit.c.subject == f"dead_letter:{letter}")).all()
    assert op.status == "retry" and op.attempts == 1
    assert row.status == "retried" and row.resolved_by == "alice" and row.resolved_at
    assert [(a.actor, a.action) for a in trail] == [("alice", "dead_letter.retry")]
    world.settle()
    assert world.target.state.per_key_raw["fwd:1:0"] == 2
    assert sorted(a.key for a in world.target.state.applied) == ["fwd:1:0", "fwd:2:0"]
    code, _, err = world.cli("dlq", "retry", str(letter))
    assert code == 1 and "is retried, not open" in err


def test_retry_of_an_event_plans_it_again_and_discard_closes(world: World) -> None:
    letters = _letters(world.runtime)
    code, _, _ = world.cli("dlq", "retry", str(letters["event"]))
    assert code == 0
    assert count(world.runtime.store, inbox, inbox.c.dedupe_key == "bad", inbox.c.status == "pending") == 1
    world.settle()  # still not JSON: dead-lettered again, as a new dead letter
    assert count(world.runtime.store, dead_letters, dead_letters.c.kind == "event") == 2
    code, out, _ = world.cli("dlq", "discard", str(letters["operation"]), "999", "--reason", "sent by hand")
    assert code == 1 and "discarded" in out
    with world.runtime.store.begin() as conn:
        status = conn.execute(sa.select(dead_letters.c.status).where(dead_letters.c.id == letters["operation"]))
        assert status.scalar() == "discarded"
        actions = [r.action for r in conn.execute(sa.select(audit).where(audit.c.actor == "alice"))]
    assert actions == ["dead_letter.retry", "dead_letter.discard"]


def test_retry_all_needs_a_route(world: World) -> None:
    code, _, err = world.cli("dlq", "retry", "--all")
    assert code == 2 and "--all --route" in err
    code, _, err = world.cli("dlq", "retry", "--all", "--route", "nope")
    assert code == 2 and "no route named 'nope'" in err
    code, out, _ = world.cli("dlq", "retry", "--all", "--route", "fwd")
    assert code == 0 and "2 of 2 done" in out


def test_api_list_show_retry_discard(world: World) -> None:
    client = world.client
    letters = _letters(world.runtime)
    listed = client.get("/admin/api/dead-letters", params={"status": "open", "route": "fwd"}, headers=AUTH).json()
    assert {d["kind"] for d in listed} == {"operation", "event"}
    shown = client.get(f"/admin/api/dead-letters/{letters['operation']}", headers=AUTH).json()
    assert shown["payload"] == {"path": "/apply", "body": {"record": "a", "seq": 1}}
    assert shown["attempts"][0]["status_code"] == 400
    event_letter = client.get(f"/admin/api/dead-letters/{letters['event']}", headers=AUTH).json()
    assert event_letter["payload"] == "{not json" and "MappingError" in event_letter["letter"]["reason"]
    assert client.get("/admin/api/dead-letters/424242", headers=AUTH).status_code == 404
    retried = client.post(f"/admin/api/dead-letters/{letters['operation']}/retry", headers=AUTH)
    assert retried.status_code == 200 and retried.json()["ok"]
    assert client.post(f"/admin/api/dead-letters/{letters['operation']}/retry", headers=AUTH).status_code == 409
    discarded = client.post(
        f"/admin/api/dead-letters/{letters['event']}/discard", json={"reason": "not JSON, never will be"}, headers=AUTH
    )
    assert discarded.status_code == 200
    world.settle()
    assert "fwd:1:0" in world.target.state.keys
    with world.runtime.store.begin() as conn:
        actors = {r.actor for r in conn.execute(sa.select(audit).where(audit.c.action.like("dead_letter.%")))}
    assert actors == {"admin-api"}


def test_api_retry_by_route(world: World) -> None:
    response = world.client.post("/admin/api/dead-letters/retry", params={"route": "fwd"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["retried"] == 2 and response.json()["failed"] == 0
    assert world.client.post("/admin/api/dead-letters/retry", params={"route": "zz"}, headers=AUTH).status_code == 404
    assert count(world.runtime.store, dead_letters, dead_letters.c.status == "open") == 0
