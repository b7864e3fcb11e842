"""The Azure mapping's ``fields:`` section in the mapping DSL: same output by default, editable, checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.errors import ConfigError
from bridge.mappings.azure.field_map import ALERT_KEYS, BAGS, INCIDENT_KEYS, sample_source
from bridge.mappings.azure.incident import incident_source
from bridge.mappings.azure_alert import alert_to_incident, load_azure_mapping, parse_alert, parse_azure_mapping

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "config" / "mappings" / "azure-alert-to-incident.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "azure"


def shipped_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(path.stem for path in FIXTURES.glob("*.json")))
def test_the_shipped_fields_section_equals_the_built_in_default(name: str) -> None:
    alert = parse_alert((FIXTURES / f"{name}.json").read_bytes())
    with_section = load_azure_mapping(SHIPPED)
    without = parse_azure_mapping({k: v for k, v in shipped_data().items() if k != "fields"})
    assert alert_to_incident(alert, with_section) == alert_to_incident(alert, without)
    assert list(alert_to_incident(alert, with_section))[:2] == ["short_description", "description"]


def test_the_sample_has_the_shape_of_a_real_source() -> None:
    alert = parse_alert((FIXTURES / "common_metric_static_fired.json").read_bytes())
    real, sample = incident_source(alert, load_azure_mapping(SHIPPED)), sample_source()
    assert set(real["alert"]) == set(sample["alert"]) == {*ALERT_KEYS, *BAGS}
    assert set(real["incident"]) == set(sample["incident"]) == set(INCIDENT_KEYS)


def test_an_admin_adds_a_conditional_field_and_overrides_one() -> None:
    data = shipped_data()
    data["fields"]["u_service"] = {
        "from": "alert.tags.service",
        "transform": ["upper"],
        "when": {"path": "alert.tags.service", "exists": True},
    }
    data["fields"]["contact_type"] = {"const": "integration"}
    data["fields"]["u_route"] = {"template": "{{ incident.route or 'none' }} / {{ alert.severity_label }}"}
    cfg = parse_azure_mapping(data)
    alert = parse_alert((FIXTURES / "common_metric_static_fired.json").read_bytes())
    plain = alert_to_incident(dataclasses.replace(alert, tags={}), cfg)
    assert "u_service" not in plain and plain["contact_type"] == "integration"
    assert plain["u_route"].endswith(f"/ {alert.severity_label}")
    tagged = alert_to_incident(dataclasses.replace(alert, tags={"service": "dip"}), cfg)
    assert tagged["u_service"] == "DIP"


def test_a_typo_in_a_field_is_refused_at_load_with_file_and_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "caller_id: {from: incident.caller_id}", "caller_id: {from: incident.caller}"
    )
    text = text.replace("cmdb_ci: {from: incident.cmdb_ci}", "cmdb_ci: {template: '{{ alert.rul }}'}")
    text = text.replace("urgency: {from: incident.urgency}", "urgency: {from: incident.urgency, colour: 1}")
    path = tmp_path / "azure.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_azure_mapping(path)
    urgency = next(n for n, line in enumerate(text.splitlines(), start=1) if "colour: 1" in line)
    assert caught.value.problems == [f"{path}:{urgency}: fields.urgency.colour: Extra inputs are not permitted"]
    path.write_text(text.replace(", colour: 1", ""), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_azure_mapping(path)
    lines = text.splitlines()
    caller = next(n for n, line in enumerate(lines, start=1) if "incident.caller}" in line)
    cmdb = next(n for n, line in enumerate(lines, start=1) if "alert.rul " in line)
    found = "\n".join(caught.value.problems)
    assert f"{path}:{caller}: fields.caller_id: source path 'incident.caller' not found" in found
    assert f"{path}:{cmdb}: fields.cmdb_ci: template failed:" in found and "'rul'" in found
