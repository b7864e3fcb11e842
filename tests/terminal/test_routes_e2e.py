"""Issue 20 over real HTTP (`bridge run` as a process, the ServiceNow emulator in-process): two azure-alert routes
keep their alert groups apart; the `delivered` line names the incident's number; an alert the flow ignores leaves
an `ignored` line saying why; the start-up line says what runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.flows.test_azure_e2e import MAPPINGS, TOKEN, _fired
from tests.support.procs import bridge_process, free_port, terminate, wait_ready
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e
ROUTES = ("alerts-a", "alerts-b")


class Running:
    def __init__(self, url: str, emulator: ServiceNowEmulator, log: Path) -> None:
        self.url, self.emulator, self.log = url, emulator, log

    def post(self, route: str, body: dict[str, Any]) -> int:
        params = {"token": TOKEN, "route": route}
        return requests.post(f"{self.url}/webhooks/azure-monitor", json=body, params=params, timeout=10).status_code

    def incidents(self) -> list[dict[str, Any]]:
        return sorted((dict(r) for r in self.emulator.state.records("incident")), key=lambda r: r["number"])

    def lines(self, msg: str) -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return [e for e in entries if e.get("msg", "").startswith(msg)]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with ServiceNowEmulator() as emulator:
        target = {
            "kind": "servicenow",
            "instance_url": emulator.url,
            "auth": {"type": "basic", "username": "admin", "password": "admin"},
        }
        poll = {"source": "servicenow", "table": "incident", "interval_seconds": 0.3, "overlap_seconds": 1}
        routes = [{"name": n, "kind": "azure-alert", "target": "servicenow", "options": {"poll": poll}} for n in ROUTES]
        config = write_config(
            tmp_path,
            {
                "mappings_dir": str(MAPPINGS),
                "log": {"level": "INFO"},  # JSON: the output is a file, not a terminal
                "dispatcher": {"idle_poll_seconds": 0.05, "backoff_initial_seconds": 0.1},
                "azure": {"tokens": [TOKEN]},
                "targets": {"servicenow": target},
                "routes": routes,
            },
        )
        port, log = free_port(), tmp_path / "bridge.log"
        proc = bridge_process("run", "--config", str(config), "--port", str(port), log=log)
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc)
            yield Running(f"http://127.0.0.1:{port}", emulator, log)
        finally:
            assert terminate(proc) == 0


def test_two_azure_routes_keep_their_alert_groups_apart(running: Running) -> None:
    guid = "bbbbbbbb-0000-0000-0000-000000000001"
    assert running.post("alerts-a", _fired(guid)) == 202
    wait_for(lambda: len(running.incidents()) == 1, what="route a's incident")
    # the same alert on the second route: its own incident, not a note on the first route's
    assert running.post("alerts-b", _fired(guid)) == 202
    wait_for(lambda: len(running.incidents()) == 2, what="route b's own incident")
    first, second = running.incidents()
    assert running.emulator.state.journal(first["sys_id"]) == []
    # a person resolves the second route's incident while its alert fires: that route's poll sees it (both poll
    # the incident table) and tells the monitoring team on that incident
    fixed = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "fixed by hand"}
    running.emulator.state.update("incident", second["sys_id"], fixed, user="admin")
    wait_for(lambda: _told(running, second["sys_id"]), what="route b's note on its own incident")
    assert not _told(running, first["sys_id"])
    # a Resolved on the first route resolves the first route's incident only
    resolved = _fired(guid, condition="Resolved", resolved="2026-11-20T10:20:00Z")
    assert running.post("alerts-a", resolved) == 202
    wait_for(lambda: running.incidents()[0]["state"] == "6", what="route a's incident resolved")
    # the delivered lines name the numbers a person searches for, each on its own route
    wait_for(lambda: len(running.lines("delivered")) >= 4, what="four delivered lines")
    numbers = {(e["route"], e.get("number")) for e in running.lines("delivered")}
    assert {("alerts-a", first["number"]), ("alerts-b", second["number"])} <= numbers


def _told(running: Running, sys_id: str) -> bool:
    notes = [j["value"] for j in running.emulator.state.journal(sys_id) if j["element"] == "work_notes"]
    return any("still firing" in n for n in notes)


def test_an_ignored_alert_says_why_and_the_start_up_line_says_what_runs(running: Running) -> None:
    never_fired = _fired("cccccccc-0000-0000-0000-000000000001", condition="Resolved", resolved="2026-11-20T10:20:00Z")
    assert running.post("alerts-a", never_fired) == 202
    wait_for(lambda: running.lines("ignored"), what="an ignored line")
    (ignored,) = running.lines("ignored")
    assert ignored["route"] == "alerts-a" and ignored["event_id"]
    assert "Fired never arrived" in ignored["reason"]
    assert running.incidents() == []
    (started,) = running.lines("bridge running on")
    assert started["routes"] == "alerts-a (azure-alert -> servicenow), alerts-b (azure-alert -> servicenow)"
    assert started["listen"] == running.url and started["store"].startswith("sqlite:///")
    assert started["admin"].startswith("disabled")
