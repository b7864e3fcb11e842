"""The raise to a partner ServiceNow desk runs on its DSL field map, end to end: an admin's extra field reaches
the partner's incident, and the raise's operations record the map's version."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from bridge.flows.partner import PartnerCaseFlow
from bridge.store.schema import outbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, make_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_raise_sends_the_maps_fields_and_records_its_version(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shipped = ROOT / "config/mappings/case-to-partner-servicenow.yaml"
    (mappings / shipped.name).write_text(
        shipped.read_text() + "  subcategory: {template: 'e-bonded to {{ partner.key }}'}\n"
    )
    shutil.copy(ROOT / "config/mappings/case-to-partner-jira.yaml", mappings)
    env = make_env(tmp_path, *emulators, settings={"mappings_dir": str(mappings)})
    try:
        flow = env.rt.flows["ebond"]
        assert isinstance(flow, PartnerCaseFlow) and flow.raise_maps is not None
        case = env.case(description=COMPLETE, priority="2")
        env.settle()
        env.central.state.update(CASES, case["sys_id"], {"comments": "Any news?"}, user="admin")
        env.settle()
        (incident,) = env.incidents()
        assert incident["subcategory"] == "e-bonded to dcc" and incident["correlation_id"] == case["sys_id"]
        with env.rt.store.begin() as conn:
            rows = list(conn.execute(sa.select(outbox.c.route, outbox.c.action, outbox.c.mapping_version)))
    finally:
        env.rt.stop()
    versions = {(r.action, r.mapping_version) for r in rows if r.route == "ebond"}
    raised_with = flow.raise_maps.version_of("servicenow")
    assert ("create", raised_with) in versions
    # our case waits once the create is confirmed: that update is planned from the outcome, with the route's version
    assert ("update", flow.base_version) in versions and ("update", raised_with) not in versions
    assert ("comment", flow.base_version) in versions and raised_with != flow.base_version
