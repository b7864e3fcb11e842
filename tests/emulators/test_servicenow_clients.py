"""The ServiceNow emulator driven by clients nobody on this project wrote, used as documented, over real HTTP:
ServiceNow's own pysnc (which accepts only an https instance, so the emulator serves TLS with a throwaway CA the
client trusts) and pysnow. What each call did must be visible in the emulator's state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pysnow
import pytest
from pysnc import ServiceNowClient
from pysnc.exceptions import RequestException

from bridge_emulators.servicenow import ServiceNowEmulator


@pytest.fixture
def tls_emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator(tls=True) as emulator:
        assert emulator.url.startswith("https://") and emulator.ca_path is not None
        # requests lets REQUESTS_CA_BUNDLE override a session's verify: point it at the emulator's CA
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_path)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        yield emulator


def test_pysnc_glide_records_over_tls(tls_emu: ServiceNowEmulator) -> None:
    client = ServiceNowClient(tls_emu.url, ("admin", "admin"), verify=tls_emu.ca_path)
    created = client.GlideRecord("incident")
    created.initialize()
    created.short_description = "Meter reads late"
    created.impact = 1
    created.urgency = 1
    sys_id = created.insert()
    assert created.get_value("priority") == "1" and created.get_display_value("priority") == "1 - Critical"
    created.add_attachment("dip.txt", b"DIP rejected", "text/plain")

    found = client.GlideRecord("incident")
    found.add_query("short_description", "Meter reads late")
    found.add_query("priority", "<=", "2")
    found.query()
    assert found.get_row_count() == 1 and found.next() and found.sys_id == sys_id
    found.state = 2
    found.comments = "Working on it"
    found.update()
    assert [a.file_name for a in found.get_attachments()] == ["dip.txt"]

    joined = client.GlideRecord("incident")
    joined.add_join_query("sys_journal_field", join_table_field="element_id").add_query("element", "comments")
    joined.query()
    assert [r.sys_id for r in joined] == [sys_id]
    related = client.GlideRecord("incident")
    related.add_rl_query("sys_attachment", "table_sys_id", ">=1", False)
    related.query()
    assert len(related) == 1

    columns = client.GlideRecord("sys_dictionary")
    columns.add_query("name", "task")
    columns.add_query("element", "short_description")
    columns.query()
    assert columns.get_row_count() == 1

    stored = tls_emu.state.get("incident", str(sys_id))
    assert stored is not None and stored["state"] == "2"
    assert [e["value"] for e in tls_emu.state.journal(str(sys_id))] == ["Working on it"]
    assert found.delete() and tls_emu.state.get("incident", str(sys_id)) is None


def test_pysnc_sees_refusals(tls_emu: ServiceNowEmulator) -> None:
    client = ServiceNowClient(tls_emu.url, ("admin", "admin"))
    bad = client.GlideRecord("incident")
    bad.add_encoded_query("sys_created_onONToday@javascript:gs.beginningOfNowhere()@javascript:gs.endOfToday()")
    with pytest.raises(RequestException, match="Invalid query"):
        bad.query()
    with pytest.raises(RequestException, match="Invalid table"):
        client.GlideRecord("u_no_such_table").query()


def test_pysnow_resources_and_query_builder(emulator: ServiceNowEmulator, tmp_path: Path) -> None:
    client = pysnow.Client(host=emulator.url.removeprefix("http://"), user="admin", password="admin", use_ssl=False)
    incidents = client.resource(api_path="/table/incident")
    made = incidents.create(payload={"short_description": "From pysnow", "category": "network"})
    assert made["number"] == "INC0010001"
    query = (
        pysnow.QueryBuilder()
        .field("category")
        .equals("network")
        .AND()
        .field("sys_created_on")
        .less_than(datetime(2100, 1, 1))
    )
    assert [r["number"] for r in incidents.get(query=query).all()] == ["INC0010001"]
    updated = incidents.update(query={"number": "INC0010001"}, payload={"state": "2"})
    assert updated["state"] == "2"
    evidence = tmp_path / "evidence.txt"
    evidence.write_bytes(b"DIP status: rejected")
    incidents.get(query={"number": "INC0010001"}).upload(file_path=str(evidence))
    [attached] = emulator.state.attachments(str(made["sys_id"]))
    assert attached["file_name"] == "evidence.txt"
    assert emulator.state.attachment_content(attached["sys_id"]) == b"DIP status: rejected"
    users = client.resource(api_path="/table/sys_user")
    admin = users.get(query={"user_name": "admin"}, fields=["department", "time_zone"]).one()
    assert set(admin) == {"department", "time_zone"}
    assert incidents.delete(query={"number": "INC0010001"}) == {"status": "record deleted"}
    assert emulator.state.records("incident") == []
