"""A major incident from declaration to PIR reminder through the whole bridge, on an injected clock, every message
counted at a real SMTP server, none holding an MPAN (Ops Manual 5.17-5.21, 5.23, Appendix E)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from bridge.server.app import create_app
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.desk.conftest import (
    GROUP,
    MEMBERS,
    MPAN,
    Sink,
    body,
    desk_route,
    major_options,
    make_env,
    seed_distribution,
    whole,
)

TOKEN = "admin-token-for-the-desk-tests-0123456789"
T0 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday, 10:00 BST


def kinds(sink: Sink) -> list[str]:
    return [slot.split("/")[1] for slot in sink.slots()]


def test_major_incident_from_declaration_to_pir_reminder(
    tmp_path: Path, sn: ServiceNowEmulator, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    seed_distribution(sn)
    env = make_env(tmp_path, sn, port, desk_route(major_options()), admin={"tokens": [TOKEN]})
    env.at(T0)
    inc = env.incident(priority="2", impact="1", urgency="2", state="2", short_description="DIP down")
    assert sink.messages == []  # not a major incident yet
    env.at(T0 + timedelta(minutes=3))
    env.update(inc["sys_id"], major_incident_state="accepted")  # the Major Incident Manager accepts it
    assert kinds(sink) == ["initial"]
    initial = sink.messages[0]
    assert sorted(a.strip() for a in str(initial["To"]).split(",")) == sorted(MEMBERS)  # the group, active only
    assert "Declared" in str(initial["Subject"]) and inc["number"] in str(initial["Subject"])
    [note] = [n for n in env.notes(inc["sys_id"]) if "Declared a major incident" in n]
    assert f"ServiceNow group {GROUP!r}" in note and all(m in note for m in MEMBERS)

    env.at(T0 + timedelta(minutes=10))
    env.update(inc["sys_id"], comments=f"We are investigating failed deliveries (meter {MPAN}).", work_notes="psst")
    env.run_until(T0 + timedelta(minutes=40))
    assert kinds(sink) == ["initial", "update"]  # slot 09:33
    update = body(sink.messages[1])
    assert "We are investigating failed deliveries" in update and "psst" not in update
    assert "Impact: 1" in update and "P2" in update

    env.at(T0 + timedelta(minutes=45))
    env.update(inc["sys_id"], urgency="1", priority="1")  # escalated to P1
    assert kinds(sink)[-1] == "escalation" and "from P2 to P1" in body(sink.messages[-1])
    env.run_until(T0 + timedelta(hours=2, minutes=4))
    env.at(T0 + timedelta(hours=2, minutes=5))
    env.update(inc["sys_id"], state="6", close_code="Solution provided", close_notes="Failed over")
    assert kinds(sink)[-1] == "resolution"
    resolution = sink.messages[-1]
    assert str(resolution["To"]) == str(initial["To"])  # everyone initially notified
    env.run_until(T0 + timedelta(hours=6))  # the PIR reminder: 2 hours after resolution
    counted = Counter(kinds(sink))
    # updates due at 09:33, 10:03, 10:33 and 11:03 (declared 09:03, every 30 minutes); resolved at 11:05
    assert counted == {"initial": 1, "update": 4, "escalation": 1, "resolution": 1, "pir": 1}, sink.slots()
    pir = sink.messages[-1]
    assert "Post-incident review due by 2026-03-31 12:05 BST" in str(pir["Subject"])
    for heading in ("Incident Details", "Root Cause Analysis", "Follow-up Actions", "Process Review"):
        assert heading in body(pir)
    assert len(set(sink.slots())) == len(sink.slots())  # no message twice
    assert len({str(m["Message-ID"]) for m in sink.messages}) == len(sink.messages)
    assert all(MPAN not in whole(m) for m in sink.messages)
    env.run_until(T0 + timedelta(days=2), step=timedelta(minutes=30))
    assert len(sink.messages) == 8  # nothing after the PIR reminder
    assert env.dead() == []
    client = TestClient(create_app(env.rt, manage_runtime=False))
    [major] = client.get("/admin/api/clocks", headers={"Authorization": f"Bearer {TOKEN}"}).json()["major_incidents"]
    assert major["number"] == inc["number"] and major["status"] == "reviewed" and len(major["sent"]) == 8
    assert major["list_source"] == f"ServiceNow group {GROUP!r}" and major["recipients"] == 3
    page = client.get("/admin/clocks", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert f"ServiceNow group &#39;{GROUP}&#39;" in page and "update-4" in page
    env.rt.stop()


def test_an_empty_distribution_group_falls_back_to_the_configured_list(
    tmp_path: Path, sn: ServiceNowEmulator, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    sn.state.insert("sys_user_group", {"name": GROUP})  # nobody in it
    rules = [{"all": [{"path": "priority", "equals": "1"}, {"path": "category", "equals": "network"}]}]
    env = make_env(tmp_path, sn, port, desk_route(major_options(rules=rules)))
    env.at(T0)
    inc = env.incident(priority="1", impact="1", urgency="1", category="network", state="2")
    assert kinds(sink) == ["initial"] and str(sink.messages[0]["To"]) == "servicedesk@elexon.example"
    [note] = [n for n in env.notes(inc["sys_id"]) if "Declared a major incident" in n]
    assert "fallback list" in note and "is empty" in note
    env.at(T0 + timedelta(minutes=20))
    env.update(inc["sys_id"], state="8")  # cancelled: no resolution, and the cadence stops
    env.run_until(T0 + timedelta(hours=4), step=timedelta(minutes=5))
    assert kinds(sink) == ["initial"]
    env.rt.stop()
