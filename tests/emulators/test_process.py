"""--db persistence across restarts, the CLI as a real process, and the pinned public API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sn_helpers import Api
from typer.testing import CliRunner

import bridge_emulators.servicenow as package
from bridge_emulators.cli import app
from bridge_emulators.servicenow import ServiceNowEmulator


def test_db_persists_records_journal_attachments_and_counters(tmp_path: Path) -> None:
    db = tmp_path / "instance.db"
    with ServiceNowEmulator(db_path=db) as emu:
        api = Api(emu.url)
        incident = api.create("incident", {"short_description": "kept", "comments": "remember me"})
        api.post(
            "/api/now/attachment/file",
            params={"table_name": "incident", "table_sys_id": incident["sys_id"], "file_name": "a.bin"},
            data=b"\x00\x01",
            headers={"Content-Type": "application/octet-stream"},
        )
        parent = api.create("customer_account", {"name": "P"})
    with ServiceNowEmulator(db_path=db) as again:
        api = Api(again.url)
        kept = api.get(f"/api/now/table/incident/{incident['sys_id']}").json()["result"]
        assert kept["short_description"] == "kept"
        assert [e["value"] for e in again.state.journal(str(incident["sys_id"]))] == ["remember me"]
        [meta] = api.get("/api/now/attachment").json()["result"]
        assert api.get(f"/api/now/attachment/{meta['sys_id']}/file").content == b"\x00\x01"
        assert api.create("incident", {})["number"] == "INC0010002"
        child = api.create("customer_account", {"name": "C", "account_parent": parent["sys_id"]})
        assert child["account_path"] == "~~~~1/~~~~2"
        assert len(again.state.records("sys_user")) == 2
        again.reset()
    with ServiceNowEmulator(db_path=db) as emptied:
        assert emptied.state.records("incident") == []


def test_new_tables_persist(tmp_path: Path) -> None:
    db = tmp_path / "dyn.db"
    with ServiceNowEmulator(db_path=db, allow_new_tables=True) as emu:
        Api(emu.url).create("u_partner_ticket", {"u_ref": "R1"})
    with ServiceNowEmulator(db_path=db, allow_new_tables=True) as emu:
        rows = Api(emu.url).get("/api/now/table/u_partner_ticket", params={"u_ref": "R1"}).json()["result"]
        assert len(rows) == 1


@pytest.mark.e2e
def test_cli_runs_as_a_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bridge_emulators.servicenow", "--port", "0", "--db", str(tmp_path / "x.db")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + (process.stderr.read() if process.stderr else "")
        url = line.rsplit(" ", 1)[-1].strip()
        response = requests.get(f"{url}/api/now/table/sys_user", auth=("admin", "admin"), timeout=10)
        assert response.status_code == 200
        assert requests.get(f"{url}/emulator/admin/health", timeout=10).json()["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_help_and_bad_flags() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["servicenow", "--help"])
    assert shown.exit_code == 0
    for flag in ("--host", "--port", "--db", "--latency-ms", "--rate-limit", "--fault-rate", "--seed"):
        assert flag in shown.output
    for flag in ("--fault-kinds", "--stall-seconds", "--hibernate", "--allow-new-tables"):
        assert flag in shown.output
    refused = runner.invoke(app, ["servicenow", "--port", "0", "--fault-kinds", "teapot"])
    assert refused.exit_code == 2


def test_public_names_are_pinned() -> None:
    assert set(package.__all__) == {
        "DEFAULT_CLIENTS",
        "DEFAULT_USERS",
        "FAULT_KINDS",
        "EmulatorState",
        "FaultConfig",
        "OAuthClient",
        "ServiceNowEmulator",
        "UserAccount",
    }
