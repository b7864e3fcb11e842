"""`bridge mappings check | preview` for a central partner-case route's raise maps (one per channel)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from bridge.cli import app
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
GROUP_DCC, GROUP_JIRA, GROUP_REC = "g-dcc", "g-jira", "g-rec"
PARTNERS = [
    {"key": "dcc", "name": "DCC", "role": "x", "channel": "servicenow", "target": "partner-sn"},
    {"key": "siemens", "name": "Siemens", "role": "x", "channel": "jira", "target": "partner-jira"},
    {"key": "rec", "name": "REC", "role": "x", "channel": "email", "target": "smtp", "email": "rec@example.com"},
]
CASE = {
    "sys_id": "0a1b2c3d",
    "number": "CS0001001",
    "short_description": "Registration messages rejected",
    "description": "Since 2025-03-04 10:15 the DIP rejected our messages.",
    "priority": "2",
    "assignment_group": GROUP_DCC,
}


def _config(tmp_path: Path) -> tuple[Path, Path]:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("case-to-partner-servicenow.yaml", "case-to-partner-jira.yaml"):
        shutil.copy(ROOT / "config/mappings" / name, mappings)
    partners = tmp_path / "partners.yaml"
    partners.write_text(yaml.safe_dump({"partners": PARTNERS}))
    sn = {"kind": "servicenow", "instance_url": "http://127.0.0.1:9", "auth": {"type": "basic", "username": "a"}}
    sn["auth"]["password"] = "a"
    jira = {"kind": "jira", "base_url": "http://127.0.0.1:9", "email": "b@example.com", "api_token": "t"}
    jira |= {"service_desk_id": "1", "request_type_id": "1", "project_key": "MHHS"}
    values = {GROUP_DCC: "dcc", GROUP_JIRA: "siemens", GROUP_REC: "rec"}
    options: dict[str, Any] = {"partners": str(partners), "assignment": {"values": values}}
    config = write_config(
        tmp_path,
        {
            "mappings_dir": str(mappings),
            "targets": {
                "central": sn,
                "partner-sn": sn,
                "partner-jira": jira,
                "smtp": {"kind": "email", "host": "localhost", "from_address": "desk@example.com"},
            },
            "routes": [{"name": "ebond", "kind": "partner-case", "target": "central", "options": options}],
        },
    )
    return config, mappings


def _invoke(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_check_covers_the_raise_maps_with_file_and_line(tmp_path: Path) -> None:
    config, mappings = _config(tmp_path)
    good = _invoke(config, "mappings", "check")
    assert good.exit_code == 0, good.output
    sn, jira = mappings / "case-to-partner-servicenow.yaml", mappings / "case-to-partner-jira.yaml"
    assert f"ok: {sn} (route ebond)" in good.stdout and f"ok: {jira} (route ebond)" in good.stdout
    sn.write_text(sn.read_text().replace("{from: case.number}", "{from: case.numbr}"))
    jira.write_text(jira.read_text() + "  customfield_10060: {const: x}\n")
    bad = _invoke(config, "mappings", "check")
    assert bad.exit_code == 1
    at = f"{sn}:{_line(sn, 'case.numbr')}: fields.correlation_display: source path 'case.numbr' not found"
    assert at in bad.stderr
    assert f"{jira}:{_line(jira, 'customfield_10060')}: fields.customfield_10060: a Jira request takes" in bad.stderr
    jira.write_text(jira.read_text().replace("  summary:", "  title:"))
    assert f"{jira}:1: fields.summary: a Jira request needs a summary" in _invoke(config, "mappings", "check").stderr
    sn.write_text(sn.read_text() + "  impact: {const: 1, template: x}\n")
    schema = _invoke(config, "mappings", "check")
    assert f"{sn}:{_line(sn, 'const: 1, template')}: fields.impact: a field takes exactly one of" in schema.stderr


def test_preview_shows_what_the_raise_sends_to_the_assigned_partner(tmp_path: Path) -> None:
    config, _mappings = _config(tmp_path)
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"record": CASE}))
    shown = _invoke(config, "mappings", "preview", "ebond", "--input", str(case))
    assert shown.exit_code == 0, shown.output
    fields = json.loads(shown.stdout)
    assert fields["short_description"] == "[CS0001001] Registration messages rejected"
    assert (fields["correlation_id"], fields["priority"], fields["impact"]) == ("0a1b2c3d", "2", "3")
    case.write_text(json.dumps({**CASE, "assignment_group": GROUP_JIRA}))
    request = json.loads(_invoke(config, "mappings", "preview", "ebond", "--input", str(case)).stdout)
    assert request["labels"] == ["bridge-0a1b2c3d"] and request["priority"] == "High"
    assert request["external_ref"] == "CS0001001"
    case.write_text(json.dumps({**CASE, "assignment_group": GROUP_REC}))
    email = _invoke(config, "mappings", "preview", "ebond", "--input", str(case))
    assert email.exit_code == 1 and "email desk" in email.stderr
    case.write_text(json.dumps(CASE))
    refused = _invoke(config, "mappings", "preview", "ebond", "--input", str(case), "--record", "x")
    assert refused.exit_code == 2 and "--record does not apply" in refused.stderr


def test_admin_preview_of_a_partner_route_and_a_refused_edit_on_the_overview(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bridge.config import load_config
    from bridge.runtime import build_runtime
    from tests.ops.support import admin_app

    config, mappings = _config(tmp_path)
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "admin": {"tokens": ["admin-t0ken-for-partner-maps"]}}))
    runtime = build_runtime(load_config(config))
    auth = {"Authorization": "Bearer admin-t0ken-for-partner-maps"}
    try:
        client = TestClient(admin_app(runtime))
        jira_case = {"record": {**CASE, "assignment_group": GROUP_JIRA}}
        shown = client.post("/admin/api/preview", json={"route": "ebond", "alert": jira_case}, headers=auth)
        unassigned = {"record": {**CASE, "assignment_group": "nobody"}}
        bad = client.post("/admin/api/preview", json={"route": "ebond", "alert": unassigned}, headers=auth)
        jira = mappings / "case-to-partner-jira.yaml"
        jira.write_text(jira.read_text() + "  summary: {from: case.number, const: 1}\n")
        runtime.flows["ebond"].raise_maps.live["jira"]._checked = (0.0, 0.0)  # type: ignore[attr-defined]
        overview = client.get("/admin", headers=auth)
    finally:
        runtime.stop()
    assert shown.status_code == 200, shown.text
    assert shown.json()["fields"]["labels"] == '["bridge-0a1b2c3d"]' and shown.json()["mapping_version"]
    assert bad.status_code == 400 and bad.json()["detail"]["path"] == "$.record.assignment_group"
    assert "case-to-partner-jira.yaml:" in overview.text and "fields.summary" in overview.text
