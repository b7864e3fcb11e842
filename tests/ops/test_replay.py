"""Replay through today's mappings (idempotent on the target), dry runs, bounded-memory streaming."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bridge.errors import InputError
from bridge.flows.forward import ForwardFlow
from bridge.ops import replay as replay_ops
from bridge.ops.times import parse_when
from bridge.store.schema import audit, inbox, outbox
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import AZURE_TOKEN, admin_app, cli_app, count, fixture, ops_config, ops_runtime, seed


def _invoke(config: Path, *args: str) -> Any:
    return CliRunner(env={"USER": "bob"}).invoke(cli_app(), [*args, "--config", str(config)])


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emu:
        yield emu


def test_replay_after_a_mapping_fix_updates_the_incident_it_made(
    tmp_path: Path, sqlite_url: str, emulator: ServiceNowEmulator
) -> None:
    runtime = ops_runtime(tmp_path, db_url=sqlite_url, servicenow_url=emulator.url)
    config = ops_config(tmp_path, db_url=sqlite_url, servicenow_url=emulator.url)
    try:
        client = TestClient(admin_app(runtime))
        alert = fixture("common_metric_static_fired")
        assert client.post("/webhooks/azure-monitor", params={"token": AZURE_TOKEN}, json=alert).status_code == 202
        runtime.processor.drain()
        assert runtime.dispatcher.drain(timeout=20)
        [incident] = emulator.state.records("incident")
        assert not incident["short_description"].startswith("FIXED")

        mapping = tmp_path / "mappings" / "azure-alert-to-incident.yaml"
        text = mapping.read_text().replace('template: "Azure {{', 'template: "FIXED Azure {{')
        mapping.write_text(text)
        version = hashlib.sha256(mapping.read_bytes()).hexdigest()[:12]

        dry = _invoke(config, "replay", "--route", "azure", "--since", "1h", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "update servicenow azure:" in dry.stdout and "FIXED Azure" in dry.stdout
        assert "dry run: nothing was written" in dry.stdout
        assert count(runtime.store, outbox, outbox.c.idempotency_key.like("%~replay%")) == 0
        assert count(runtime.store, audit, audit.c.action == "replay") == 0

        for _run in range(2):  # a second run is as harmless as the first
            done = _invoke(config, "replay", "--route", "azure", "--since", "1h")
            assert done.exit_code == 0, done.output
            assert "1 event(s), 1 operation(s) planned (update 1), 1 enqueued, 0 error(s)" in done.stdout
            assert runtime.dispatcher.drain(timeout=20)
        with runtime.store.begin() as conn:
            replayed = conn.execute(sa.select(outbox).where(outbox.c.idempotency_key.like("%~replay%"))).all()
            original = conn.execute(sa.select(outbox).where(outbox.c.action == "create")).one()
            trail = conn.execute(sa.select(audit).where(audit.c.action == "replay")).all()
    finally:
        runtime.stop()
    assert len(replayed) == 2 and {op.status for op in replayed} == {"done"}
    assert {op.mapping_version for op in replayed} == {version} != {original.mapping_version}
    assert {(op.link_system, op.link_id) for op in replayed} == {(original.link_system, original.link_id)}
    assert all(op.idempotency_key.startswith(f"azure:{original.event_id}:0~replay") for op in replayed)
    [after] = emulator.state.records("incident")  # no second incident: the link made it an update
    assert after["sys_id"] == incident["sys_id"] and after["short_description"].startswith("FIXED Azure")
    assert [(a.actor, a.route) for a in trail] == [("bob", "azure"), ("bob", "azure")]


@pytest.mark.slow
def test_replay_of_twenty_thousand_events_streams_in_batches(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        try:
            seed(runtime.store, events=20_000)
            statements: list[str] = []

            def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if statement.lstrip().upper().startswith("SELECT") and "FROM inbox" in statement:
                    statements.append(statement)

            sa.event.listen(runtime.store.engine, "before_cursor_execute", spy)
            window = replay_ops.ReplayWindow("fwd", since=time.time() - 86_400)
            tracemalloc.start()
            summary = replay_ops.replay(
                runtime.store,
                window,
                route=runtime.routes["fwd"],
                flow=runtime.flows["fwd"],
                actor="t",
                batch_size=1000,
            )
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            sa.event.remove(runtime.store.engine, "before_cursor_execute", spy)
            replayed = count(runtime.store, outbox, outbox.c.idempotency_key.like(f"%~replay{summary.run_id}"))
        finally:
            runtime.stop()
    assert summary.events == 20_000 and summary.enqueued == 20_000 == replayed
    assert summary.by_action == {"post": 20_000} and summary.error_count == 0
    assert len(statements) == 21, "one keyset page per 1,000 events, and the empty page that ends the run"
    assert all("LIMIT" in s.upper() and "inbox.id >" in s for s in statements)
    # streaming holds one page (about 3 MB here); the 20,000 events and their operations at once take over 25 MB
    assert peak < 8_000_000, f"replay held {peak / 1e6:.1f} MB: it must stream, not load every event"


def test_replay_window_record_filter_and_errors(tmp_path: Path, store_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=store_url, target_url=target.url)
        try:
            seed(runtime.store, events=30)
            seed(runtime.store, events=1, status="pending", start=31)  # not handled yet: never replayed
            with runtime.store.begin() as conn:
                conn.execute(sa.update(inbox).where(inbox.c.id == 3).values(payload="{broken"))
            flow, route = runtime.flows["fwd"], runtime.routes["fwd"]
            since = time.time() - 86_400
            every = replay_ops.replay(
                runtime.store, replay_ops.ReplayWindow("fwd", since), route=route, flow=flow, actor="t", dry_run=True
            )
            one = replay_ops.replay(
                runtime.store, replay_ops.ReplayWindow("fwd", since, record="rec-7"), route=route, flow=flow, actor="t"
            )
        finally:
            runtime.stop()
    assert isinstance(flow, ForwardFlow)
    assert every.events == 30 and every.operations == 29 and every.enqueued == 0 and every.error_count == 1
    assert every.errors[0][0] == 3 and "MappingError" in every.errors[0][1]
    assert one.events == 1 and one.enqueued == 1


def test_cli_replay_reports_usage_errors(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        runtime.stop()
        config = ops_config(tmp_path, db_url=sqlite_url, target_url=target.url)
        bad_time = _invoke(config, "replay", "--route", "fwd", "--since", "yesterday")
        unknown = _invoke(config, "replay", "--route", "nope", "--since", "2h")
        empty = _invoke(config, "replay", "--route", "fwd", "--since", "2026-01-01T00:00:00Z", "--until", "1s")
    assert bad_time.exit_code == 2 and "neither an ISO 8601 time" in bad_time.stderr
    assert unknown.exit_code == 2 and "no route named 'nope'" in unknown.stderr
    assert empty.exit_code == 0 and "0 event(s)" in empty.stdout


def test_times_accept_iso_and_relative_spans() -> None:
    now = 1_800_000_000.0
    assert parse_when("2h", now=now) == now - 7200
    assert parse_when("3d", now=now) == now - 3 * 86_400
    assert parse_when("90m", now=now) == now - 5400
    assert parse_when("2026-11-20T10:00:00Z") == parse_when("2026-11-20T10:00:00") == 1795168800.0
    assert parse_when("2026-11-20T11:00:00+01:00") == 1795168800.0
    with pytest.raises(InputError):
        parse_when("last tuesday")
