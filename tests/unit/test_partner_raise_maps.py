"""The e-bonding raise maps (config/mappings/case-to-partner-*.yaml): today's fields from plain dicts, the
identity the flow enforces whatever a map says, and hot reload."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bridge.flows.partner import options as po_options
from bridge.flows.partner.raise_maps import RaiseMaps, map_paths
from bridge.partners import Partner

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config/mappings"
SN = Partner.model_validate({"key": "dcc", "name": "DCC", "role": "x", "channel": "servicenow", "target": "sn"})
JIRA = Partner.model_validate({"key": "siemens", "name": "Siemens", "role": "x", "channel": "jira", "target": "j"})
CASES: list[dict[str, Any]] = [
    {
        "sys_id": "0a1b2c3d",
        "number": "CS0001001",
        "short_description": "Registration messages rejected",
        "description": "Since 2025-03-04 10:15 the DIP rejected our messages. Impact: suppliers affected.",
        "impact": "2",
        "urgency": "1",
        "priority": "2",
        "assignment_group": {"value": "grp", "display_value": "DCC"},
    },
    {  # display-value dicts, no impact/urgency at all, a title past both limits
        "sys_id": {"value": "ffee", "display_value": "ffee"},
        "number": {"value": "CS0001002", "display_value": "CS0001002"},
        "short_description": "x" * 300,
        "description": "multi\nline\n",
    },
    {"sys_id": "11", "number": "CS3", "short_description": "s", "impact": "", "urgency": None},  # no description
]


def _plain(value: Any) -> str:
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")


def _servicenow_before(record: dict[str, Any], priority: str) -> dict[str, Any]:
    """The fields the flow built in Python before the map existed (the reference)."""
    number = _plain(record.get("number"))
    return {
        "short_description": f"[{number}] {_plain(record.get('short_description'))}"[:160],
        "description": f"{_plain(record.get('description'))}\n\nRaised by the Elexon MHHS Service Desk, case {number}.",
        "impact": _plain(record.get("impact")) or "3",
        "urgency": _plain(record.get("urgency")) or "3",
        "priority": priority,
        "correlation_id": _plain(record.get("sys_id")),
        "correlation_display": number,
    }


def _jira_before(record: dict[str, Any], priority: str) -> dict[str, Any]:
    """The request the flow's Jira side built in Python before the map existed (the reference)."""
    number = _plain(record.get("number"))
    return {
        "summary": f"[{number}] {_plain(record.get('short_description'))}"[:255],
        "description": f"{_plain(record.get('description'))}\n\nRaised by the Elexon MHHS Service Desk, case {number}.",
        "external_ref": number,
        "labels": [f"bridge-{_plain(record.get('sys_id'))}"],
        "priority": priority,
    }


def _maps(directory: Path) -> RaiseMaps:
    return RaiseMaps(map_paths(directory, po_options.RaiseMapNames(), None), route="ebond")


@pytest.mark.parametrize("record", CASES)
def test_the_shipped_maps_give_exactly_the_fields_sent_before(record: dict[str, Any]) -> None:
    maps = _maps(SHIPPED)
    assert maps.fields(SN, record, "2") == _servicenow_before(record, "2")
    assert maps.fields(JIRA, record, "High") == _jira_before(record, "High")
    assert len(maps.fields(SN, CASES[1], "3")["short_description"]) == 160


def test_identity_fields_are_the_bridges_whatever_the_map_says(tmp_path: Path) -> None:
    (tmp_path / "case-to-partner-servicenow.yaml").write_text(
        "fields:\n"
        "  short_description: {from: case.short_description}\n"
        "  correlation_id: {const: somebody-else}\n"
        "  priority: {const: '1'}\n"
        "  comments: {template: 'Raised for {{ partner.name }}'}\n"
    )
    (tmp_path / "case-to-partner-jira.yaml").write_text(
        "fields:\n"
        "  summary: {from: case.short_description}\n"
        "  external_ref: {const: NOT-OURS}\n"
        "  labels: {const: [mhhs, bridge-forged]}\n"
    )
    maps = _maps(tmp_path)
    sent = maps.fields(SN, CASES[0], "2")
    assert sent["correlation_id"] == "0a1b2c3d" and sent["correlation_display"] == "CS0001001"
    assert sent["priority"] == "2"
    assert sent["comments"] == "Raised for DCC\n\n[bridge:raise:0a1b2c3d]"
    request = maps.fields(JIRA, CASES[0], "High")
    assert request == {
        "summary": "Registration messages rejected",
        "external_ref": "CS0001001",
        "labels": ["mhhs", "bridge-0a1b2c3d"],
        "priority": "High",
    }


def test_an_invalid_edit_is_refused_and_the_previous_version_stays_live(tmp_path: Path) -> None:
    for name in ("case-to-partner-servicenow.yaml", "case-to-partner-jira.yaml"):
        shutil.copy(SHIPPED / name, tmp_path)
    maps = _maps(tmp_path)
    first = maps.version_of("servicenow")
    assert first is not None and len(first) == 12 and maps.version_of("jira") != first
    path = tmp_path / "case-to-partner-servicenow.yaml"
    path.write_text(path.read_text() + "  u_partner: {const: x, from: partner.key}\n")
    maps.live["servicenow"]._checked = (0.0, 0.0)
    maps.reload_if_changed()  # as the flow does when it starts a plan (never in the middle of one)
    assert maps.fields(SN, CASES[0], "2") == _servicenow_before(CASES[0], "2")
    assert maps.version_of("servicenow") == first
    line = len(path.read_text().splitlines())
    assert maps.reload_error and f"{path}:{line}: fields.u_partner" in maps.reload_error
    path.write_text(path.read_text().replace("{const: x, from: partner.key}", "{from: partner.key}"))
    maps.live["servicenow"]._checked = (0.0, 0.0)
    maps.reload_if_changed()
    assert maps.fields(SN, CASES[0], "2")["u_partner"] == "dcc"
    assert maps.reload_error is None and maps.version_of("servicenow") not in (None, first)


def test_only_the_channels_the_directory_uses_need_a_map(tmp_path: Path) -> None:
    from bridge.partners import Directory

    email = {"key": "rec", "name": "REC", "role": "x", "channel": "email", "target": "smtp", "email": "a@b.example"}
    directory = Directory.model_validate({"partners": [SN.model_dump(by_alias=True), email]})
    assert list(map_paths(tmp_path, po_options.RaiseMapNames(jira="mine"), directory)) == ["servicenow"]
    names = po_options.RaiseMapNames(servicenow="a", jira="b")
    assert map_paths(tmp_path, names, None) == {"servicenow": tmp_path / "a.yaml", "jira": tmp_path / "b.yaml"}
