"""The mapping editor in a real browser (Debian's Chromium, driven by Playwright) against a real `bridge run` and the
ServiceNow emulator (issue 22): an edit with an error is shown inline and cannot be saved; the fixed edit is
previewed against a live incident, saved with a note, and the next alert is planned with it; a rollback then
offers the replay of what the bad version planned, as a dry run and then for real.

Screenshots go to the test's tmp_path (never into the repository).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ALICE_TOKEN, AZURE_TOKEN, BOB_TOKEN, NAMED_ADMINS, ROOT, fixture, ops_config
from tests.ops.test_admin_browser import CHROMIUM, CHROMIUM_ARGS, _playwright, wait_for
from tests.support.procs import free_port, terminate, wait_ready

pytestmark = pytest.mark.e2e
NAME = "azure-alert-to-incident"
TEMPLATE = 'template: "Azure {{ severity_label }}: {{ rule }} on {{ resource }}"'
EDITED = 'template: "[MHHS] Azure {{ severity_label }}: {{ rule }} on {{ resource }}"'


@dataclass
class Daemon:
    url: str
    emulator: ServiceNowEmulator
    shots: Path

    def api(self, path: str) -> Any:
        response = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {BOB_TOKEN}"}, timeout=5)
        response.raise_for_status()
        return response.json()

    def alert(self, body: dict[str, Any]) -> None:
        sent = requests.post(f"{self.url}/webhooks/azure-monitor", params={"token": AZURE_TOKEN}, json=body, timeout=5)
        assert sent.status_code == 202, sent.text

    def incidents(self) -> list[dict[str, str]]:
        return self.emulator.state.records("incident")


@pytest.fixture
def daemon(tmp_path: Path, sqlite_url: str) -> Iterator[Daemon]:
    with ServiceNowEmulator() as emulator:
        config = ops_config(tmp_path, db_url=sqlite_url, servicenow_url=emulator.url, admin_tokens=NAMED_ADMINS)
        port = free_port()
        log = tmp_path / "bridge.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.ops.run_bridge", "run", "--config", str(config), "--port", str(port)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            yield Daemon(url, emulator, tmp_path)
        finally:
            assert terminate(proc) == 0, log.read_text()[-3000:]


def _second_alert() -> dict[str, Any]:
    """Another rule on another resource: a new incident."""
    body = copy.deepcopy(fixture("common_metric_static_fired"))
    essentials = body["data"]["essentials"]
    essentials["alertRule"] = "dip-gateway-rejections"
    essentials["alertId"] = essentials["alertId"].replace("12345678-1234", "87654321-4321")
    essentials["alertTargetIDs"] = [essentials["alertTargetIDs"][0].replace("wcus-r2-gen2", "dip-gateway")]
    return body


def test_edit_check_preview_save_use_roll_back_and_replay_in_a_browser(daemon: Daemon) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    daemon.alert(fixture("common_metric_static_fired"))
    wait_for(lambda: len(daemon.incidents()) == 1, "the first incident")
    [first] = daemon.incidents()
    assert first["short_description"].startswith("Azure Sev3: WCUS-R2-Gen2")
    live = daemon.api(f"/admin/api/mappings/{NAME}")["live"]
    original, v1 = live["content"], live["version"]
    assert TEMPLATE in original and "caller_id: {from: incident.caller_id}" in original
    broken = original.replace("caller_id: {from: incident.caller_id}", "caller_id: {from: incident.caller}")
    fixed = original.replace(TEMPLATE, EDITED)
    bad_line = broken.split("\n").index("  caller_id: {from: incident.caller}") + 1

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            shot = _shooter(page, daemon.shots)
            page.goto(f"{daemon.url}/admin/login")
            page.fill("#token", ALICE_TOKEN)
            page.click("button:has-text('Sign in')")
            expect(page.locator("#whoami")).to_have_text("Signed in as alice")
            page.click("nav >> text=Mappings")
            expect(page.locator("#documents")).to_contain_text(NAME)
            shot("mappings")
            page.click(f"#documents >> text={NAME}")
            expect(page.locator("h1")).to_have_text(NAME)

            # an edit with an error: shown under its line as `bridge mappings check` gives it; it cannot be saved
            page.fill("#text", broken)
            page.click("button[value=check]")
            problem = page.locator(f"#L{bad_line} + tr.problem")
            expect(problem).to_contain_text(f"{NAME}.yaml:{bad_line}: fields.caller_id")
            expect(problem).to_contain_text("'incident.caller' not found")
            page.locator(f"#L{bad_line}").scroll_into_view_if_needed()
            shot("inline-error")
            page.fill("#note", "try a caller")
            page.click("button[value=save]")
            expect(page.locator("#refused")).to_contain_text("not saved")
            expect(page.locator("#versions tbody tr")).to_have_count(1)

            # fixed, and previewed against the live incident on the emulator, beside what the live version sends
            page.fill("#text", fixed)
            page.fill("#sample", json.dumps(fixture("common_metric_static_fired"), indent=2))
            page.fill("#record", first["sys_id"])
            page.click("button[value=preview]")
            row = page.locator("#row-short_description")
            expect(row).to_have_class(re.compile("changed"))
            expect(row.locator("td").nth(0)).to_contain_text("Azure Sev3: WCUS-R2-Gen2")  # the record now
            expect(page.locator("#edited-short_description")).to_contain_text("[MHHS] Azure Sev3: WCUS-R2-Gen2")
            expect(page.locator("#row-priority")).not_to_have_class(re.compile("changed"))
            page.locator("#preview").scroll_into_view_if_needed()
            shot("preview")

            page.fill("#note", "Prefix MHHS to Azure incident titles")
            page.click("button[value=save]")
            expect(page.locator(".flash")).to_contain_text("saved as revision 2")
            expect(page.locator("#versions tbody tr").first).to_contain_text("Prefix MHHS to Azure incident titles")
            expect(page.locator("#versions tbody tr").first).to_contain_text("alice")  # the named admin saved it
            shot("saved")
            live = daemon.api(f"/admin/api/mappings/{NAME}")["live"]
            assert live["actor"] == "alice", "the version's author is the admin who signed in, not `admin-api`"
            v2 = live["version"]

            # the next alert is planned with the new version
            daemon.alert(_second_alert())
            wait_for(lambda: len(daemon.incidents()) == 2, "the second incident")
            second = next(i for i in daemon.incidents() if i["sys_id"] != first["sys_id"])
            assert second["short_description"].startswith("[MHHS] Azure Sev3: dip-gateway-rejections")
            page.click("nav >> text=Events")
            expect(page.locator("tbody tr").first).to_contain_text(f"mapping {v2}")
            expect(page.locator("tbody tr").nth(1)).to_contain_text(f"mapping {v1}")
            shot("events")

            # roll back to revision 1, then replay what revision 2 planned: a dry run, then for real
            page.goto(f"{daemon.url}/admin/mappings/{NAME}/revisions/1")
            page.fill("#note", "The desk's reports match on the old titles")
            page.click("button:has-text('Roll back to revision 1')")
            expect(page.locator(".flash")).to_contain_text("rolled back to revision 1")
            expect(page.locator("#replay-offer")).to_contain_text("1 event(s)")
            shot("rolled-back")
            page.click("button:has-text('Dry run of the replay')")
            expect(page.locator("h1")).to_contain_text("Dry run")
            expect(page.locator("#planned")).to_contain_text("Azure Sev3: dip-gateway-rejections")
            expect(page.locator("#planned")).not_to_contain_text("[MHHS]")
            shot("dry-run")
            assert _short(daemon, second["sys_id"]).startswith("[MHHS]"), "a dry run sends nothing"
            page.click("button:has-text('Replay for real')")
            expect(page.locator(".flash")).to_contain_text("replayed 1 event(s)")
            wait_for(lambda: _short(daemon, second["sys_id"]).startswith("Azure Sev3"), "the replayed title")
            shot("replayed")
        finally:
            browser.close()
    versions = daemon.api(f"/admin/api/mappings/{NAME}/versions")
    assert [(v["revision"], v["origin"], v["restores"]) for v in versions] == [
        (3, "rollback", 1),
        (2, "edit", None),
        (1, "file", None),
    ]
    assert versions[0]["version"] == v1 and len(daemon.incidents()) == 2


def _short(daemon: Daemon, sys_id: str) -> str:
    record = daemon.emulator.state.get("incident", sys_id)
    assert record is not None
    return str(record["short_description"])


def _shooter(page: Any, folder: Path) -> Any:
    def shot(name: str) -> None:
        page.screenshot(path=str(folder / f"editor-{name}.png"), full_page=False)

    return shot
