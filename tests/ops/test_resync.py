"""`bridge resync`: a polled route's source read again over real HTTP (the ServiceNow and Jira emulators). Changes
made while the bridge was down are stored exactly once and planned as usual; the watermark never moves back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bridge.config import load_config
from bridge.runtime import Runtime, build_runtime
from bridge.store import records
from bridge.store.schema import audit, inbox, outbox
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.jira import JiraEmulator
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.ops.support import FAST_DISPATCH, cli_app, count, forward_route

JIRA = {
    "kind": "jira",
    "email": "bridge@example.com",
    "api_token": "jira-token",
    "service_desk_id": "1",
    "request_type_id": "10",
    "project_key": "MHHS",
    "timezone": "UTC",
}


def _config(tmp_path: Path, db_url: str, sink: str, source: dict[str, Any]) -> Path:
    route = forward_route("polled")
    route["options"]["poll"] = {"source": "source", "table": "incident", "initial_lookback_seconds": 60}
    targets = {"sink": {"kind": "http", "base_url": sink, "read_timeout": 2, "connect_timeout": 2}, "source": source}
    data = {"store": {"url": db_url}, "dispatcher": FAST_DISPATCH, "targets": targets}
    return write_config(tmp_path, {**data, "routes": [route, forward_route("push")]})


def _servicenow(url: str) -> dict[str, Any]:
    return {
        "kind": "servicenow",
        "instance_url": url,
        "auth": {"type": "basic", "username": "admin", "password": "admin"},
    }


def _invoke(config: Path, *args: str) -> Any:
    return CliRunner(env={"USER": "bob"}).invoke(cli_app(), [*args, "--config", str(config)])


def _watermark(rt: Runtime) -> str | None:
    assert rt.scheduler is not None
    with rt.store.begin() as conn:
        return records.get_watermark(conn, rt.scheduler.pollers[0].name)


def _keys(rt: Runtime) -> list[str]:
    with rt.store.begin() as conn:
        return [r.dedupe_key for r in conn.execute(sa.select(inbox.c.dedupe_key).where(inbox.c.route == "polled"))]


@pytest.fixture
def sink() -> Iterator[CountingTarget]:
    with CountingTarget() as target:
        yield target


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emu:
        yield emu


def _backdated(emu: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch, hours: float, **values: Any) -> dict[str, str]:
    """An incident written while the bridge was down: its sys_updated_on is ``hours`` ago."""
    with monkeypatch.context() as m:
        m.setattr(emu.state, "clock", lambda: time.time() - hours * 3600)
        return emu.state.insert("incident", values)


def test_resync_stores_what_the_poller_missed_once_and_keeps_the_watermark(
    tmp_path: Path, sqlite_url: str, sink: CountingTarget, emulator: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, sqlite_url, sink.url, _servicenow(emulator.url))
    rt = build_runtime(load_config(config))
    assert rt.scheduler is not None
    poller = rt.scheduler.pollers[0]
    try:
        seen = emulator.state.insert("incident", {"short_description": "seen live"})
        assert poller.poll_once().new == 1
        missed = _backdated(emulator, monkeypatch, 2, short_description="changed while the bridge was down")
        assert poller.poll_once().new == 0  # two hours behind the watermark: the poller cannot see it
        watermark = _watermark(rt)
        assert watermark is not None and missed["sys_updated_on"] < watermark

        dry = _invoke(config, "resync", "--route", "polled", "--since", "3h", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "2 change(s) read" in dry.stdout and "would store 1 new, 1 already known" in dry.stdout
        assert "dry run: nothing was written" in dry.stdout
        assert len(_keys(rt)) == 1 and count(rt.store, audit, audit.c.action == "resync") == 0

        first = _invoke(config, "resync", "--route", "polled", "--since", "3h")
        assert first.exit_code == 0, first.output
        assert "stored 1 new, 1 already known" in first.stdout and "resync polled" in first.stderr
        again = _invoke(config, "resync", "--route", "polled", "--since", "3h")
        assert again.exit_code == 0 and "stored 0 new, 2 already known" in again.stdout

        assert sorted(_keys(rt)) == sorted([f"{seen['sys_id']}:0", f"{missed['sys_id']}:0"])
        assert _watermark(rt) == watermark  # not moved back to three hours ago
        assert poller.poll_once().new == 0

        rt.processor.drain()  # planned and delivered like any polled change
        assert rt.dispatcher.drain(timeout=20)
        with rt.store.begin() as conn:
            bodies = [json.loads(r.payload)["body"] for r in conn.execute(sa.select(outbox.c.payload))]
        assert sorted(b["record"]["short_description"] for b in bodies) == [
            "changed while the bridge was down",
            "seen live",
        ]
        assert count(rt.store, outbox, outbox.c.status != "done") == 0
        assert [(a.actor, a.subject, json.loads(a.after)["new"]) for a in _audits(rt)] == [
            ("bob", "resync:polled", 1),
            ("bob", "resync:polled", 0),
        ]
    finally:
        rt.stop()


def _audits(rt: Runtime) -> list[Any]:
    with rt.store.begin() as conn:
        rows = conn.execute(sa.select(audit).where(audit.c.action == "resync").order_by(audit.c.id)).all()
    return list(rows)


def test_resync_when_the_poller_never_ran_uses_the_pollers_keys(
    tmp_path: Path, sqlite_url: str, sink: CountingTarget, emulator: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, sqlite_url, sink.url, _servicenow(emulator.url))
    rt = build_runtime(load_config(config))
    assert rt.scheduler is not None
    try:
        _backdated(emulator, monkeypatch, 30, short_description="yesterday")
        emulator.state.insert("incident", {"short_description": "today"})
        result = _invoke(config, "resync", "--route", "polled", "--since", "2d")
        assert result.exit_code == 0 and "2 change(s) read" in result.stdout and "stored 2 new" in result.stdout
        assert _watermark(rt) is None
        assert rt.scheduler.pollers[0].poll_once().new == 0  # the poller's own read finds them already stored
        assert len(_keys(rt)) == 2
    finally:
        rt.stop()


def test_resync_refuses_a_push_only_route_an_unknown_route_and_bad_times(
    tmp_path: Path, sqlite_url: str, sink: CountingTarget, emulator: ServiceNowEmulator
) -> None:
    config = _config(tmp_path, sqlite_url, sink.url, _servicenow(emulator.url))
    build_runtime(load_config(config)).stop()
    push = _invoke(config, "resync", "--route", "push", "--since", "2h")
    assert push.exit_code == 2
    assert "route push has no re-fetchable source" in push.stderr and "bridge replay --route push" in push.stderr
    unknown = _invoke(config, "resync", "--route", "nope", "--since", "2h")
    assert unknown.exit_code == 2 and "no route named 'nope'" in unknown.stderr
    bad = _invoke(config, "resync", "--route", "polled", "--since", "last week")
    assert bad.exit_code == 2 and "neither an ISO 8601 time" in bad.stderr
    future = _invoke(config, "resync", "--route", "polled", "--since", "2999-01-01T00:00:00Z")
    assert future.exit_code == 2 and "in the future" in future.stderr


def test_resync_reports_a_source_that_fails_part_way(tmp_path: Path, sqlite_url: str, sink: CountingTarget) -> None:
    with ServiceNowEmulator() as emulator:
        config = _config(tmp_path, sqlite_url, sink.url, _servicenow(emulator.url))
        build_runtime(load_config(config)).stop()
    result = _invoke(config, "resync", "--route", "polled", "--since", "1h")  # the emulator is gone
    assert result.exit_code == 1 and "error: the source failed after 0 change(s)" in result.stderr


def test_resync_of_a_jira_route_picks_up_an_issue_changed_while_down(
    tmp_path: Path, sqlite_url: str, sink: CountingTarget
) -> None:
    now = [datetime.now(UTC) - timedelta(hours=2)]
    with JiraEmulator(clock=lambda: now[0]) as jira:
        config = _config(tmp_path, sqlite_url, sink.url, {**JIRA, "base_url": jira.url})
        rt = build_runtime(load_config(config))
        assert rt.scheduler is not None
        poller = rt.scheduler.pollers[0]
        try:
            old = jira.state.create("Changed while the bridge was down")
            now[0] = datetime.now(UTC)
            fresh = jira.state.create("Seen live")
            assert poller.poll_once().new == 1  # the first poll looks back one minute only
            watermark = _watermark(rt)

            result = _invoke(config, "resync", "--route", "polled", "--since", "3h")
            assert result.exit_code == 0, result.output
            assert "2 change(s) read" in result.stdout and "stored 1 new, 1 already known" in result.stdout
            assert sorted(k.split(":")[0] for k in _keys(rt)) == sorted([old.key, fresh.key])
            assert _watermark(rt) == watermark

            jira.state.add_comment(old.key, "a later change")
            again = _invoke(config, "resync", "--route", "polled", "--since", "3h")
            assert again.exit_code == 0 and "stored 1 new, 1 already known" in again.stdout
        finally:
            rt.stop()
