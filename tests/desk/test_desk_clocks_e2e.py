"""The desk's clocks through the whole bridge, on an injected clock: days of desk time in seconds, across a
weekend, Easter's bank holidays and the GMT/BST change, with a restart in the middle (Ops Manual 2.3.1, 3.10,
5.12, 5.17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from bridge.config import load_config
from bridge.flows.desk.flow import BREACHES, WARNINGS
from bridge.runtime import build_runtime
from bridge.server.app import create_app
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.desk.conftest import desk_route, make_env

TOKEN = "admin-token-for-the-desk-tests-0123456789"


def test_p3_clock_runs_business_days_over_easter_and_the_clock_change_across_a_restart(
    tmp_path: Path, sn: ServiceNowEmulator, store_url: str
) -> None:
    env = make_env(tmp_path, sn, None, desk_route(), admin={"tokens": [TOKEN]}, store={"url": store_url})
    breaches = BREACHES.labels("desk", "resolution", "P3")._value.get()  # (SQLite and PostgreSQL)
    warnings = WARNINGS.labels("desk", "resolution", "P3")._value.get()
    triage = BREACHES.labels("desk", "triage", "P3")._value.get()
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # GMT; BST from Sunday 29 March
    env.at(friday)
    inc = env.incident(priority="3", impact="2", urgency="2")
    env.run_until(friday + timedelta(minutes=20))
    env.update(inc["sys_id"], state="2", assigned_to="6816f79cc0a8016401c5a33be04be441")  # triaged late
    # On Hold (Awaiting Caller) for an hour of core time on Monday 30 March, BST
    env.run_until(datetime(2026, 3, 30, 10, 0, tzinfo=UTC), step=timedelta(minutes=10))
    env.update(inc["sys_id"], state="3", hold_reason="1")
    env.run_until(datetime(2026, 3, 30, 11, 0, tzinfo=UTC), step=timedelta(minutes=10))
    env.update(inc["sys_id"], state="2")
    env.run_until(datetime(2026, 4, 2, 12, 0, tzinfo=UTC), step=timedelta(minutes=10))
    env.rt.stop()  # a restart: the clock state is in the store, the next tick carries on
    env.rt = build_runtime(load_config(tmp_path / "bridge.yaml"))
    env.run_until(datetime(2026, 4, 9, 12, 0, tzinfo=UTC), step=timedelta(minutes=10))
    notes = env.notes(inc["sys_id"])
    triage_notes = [n for n in notes if "not triaged within 15 minutes" in n]
    warning_notes = [n for n in notes if "75% of the resolution time" in n]
    breach_notes = [n for n in notes if "breached its resolution target" in n]
    assert len(triage_notes) == 1 and len(warning_notes) == 1 and len(breach_notes) == 1, notes
    # 45 core hours from Friday 16:00 GMT, one paused: Good Friday and Easter Monday skipped, so Tuesday 7 April
    # 16:00 BST plus the hour On Hold: 17:00 BST
    assert "due at 2026-04-07 17:00 BST" in breach_notes[0] and "P3, 5 business days" in breach_notes[0]
    [audit] = env.audits("desk_clock_breach")[-1:]
    assert '"due":"2026-04-07T16:00:00+00:00"' in str(audit.after) and len(env.audits("desk_clock_breach")) == 2
    assert BREACHES.labels("desk", "resolution", "P3")._value.get() == breaches + 1
    assert WARNINGS.labels("desk", "resolution", "P3")._value.get() == warnings + 1
    assert BREACHES.labels("desk", "triage", "P3")._value.get() == triage + 1
    assert env.dead() == []
    client = TestClient(create_app(env.rt, manage_runtime=False))
    page = client.get("/admin/clocks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    breached = page.text.split('id="breached"')[1].split("</section>")[0]
    assert inc["number"] in breached and "2026-03-27T16:15:00+00:00" in breached  # the first breach: triage
    api = client.get("/admin/api/clocks", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [(t["key"], t["open"], t["breached"]) for t in api["by_priority"]] == [("P3", 0, 1)]
    assert api["due_next"] == [] and api["breached"][0]["number"] == inc["number"]
    stranger = TestClient(create_app(env.rt, manage_runtime=False), follow_redirects=False)
    assert stranger.get("/admin/clocks").status_code in (303, 401)  # the page needs a login
    env.rt.stop()


def test_a_party_in_scotland_keeps_easter_monday_as_a_working_day(tmp_path: Path, sn: ServiceNowEmulator) -> None:
    company = sn.state.insert("core_company", {"name": "Scottish Networks"})
    route = desk_route(calendar={"region_field": "company", "regions": {"SCT": [company["sys_id"]]}})
    env = make_env(tmp_path, sn, None, route)
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)
    env.at(friday)
    inc = env.incident(priority="3", state="2", company=company["sys_id"])
    env.run_until(datetime(2026, 4, 8, 9, 0, tzinfo=UTC), step=timedelta(minutes=30))
    [breach] = [n for n in env.notes(inc["sys_id"]) if "breached" in n]
    assert "due at 2026-04-06 16:00 BST" in breach  # Easter Monday is not a bank holiday in Scotland
    env.rt.stop()
