"""The admin page's partner response view: a breach the real flow made (two ServiceNow emulators over HTTP), the
cases still waiting on the desk's clock, the same data in the JSON API, and its cost on a large flow-state table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bridge.sources import ticks
from bridge.store import records
from bridge.store.schema import flow_state
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, admin_app
from tests.partners.conftest import COMPLETE, Env, make_env
from tests.support.plans import SqliteWork

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN = {"settings": {"admin": {"tokens": [ADMIN_TOKEN]}}}


def _make_late(env: Env, sys_id: str, hours: float) -> None:
    """As if the case had been raised ``hours`` ago, then let the periodic check run as the scheduler does."""
    with env.rt.store.begin() as conn:
        st = records.get_flow_state(conn, "partner-case", f"case:{sys_id}")
        assert st is not None and st["status"] == "raised"
        st["raised_at"] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
        records.put_flow_state(conn, env.rt.store, "partner-case", f"case:{sys_id}", st)
    [(_name, _seconds, tick)] = ticks.jobs(env.rt.config, env.rt.ingest)
    tick()
    env.settle()


def test_the_page_and_api_list_a_breach_the_flow_made_and_the_cases_waiting(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    env = make_env(tmp_path, *emulators, **ADMIN)
    try:
        late = env.case(description=COMPLETE, priority="3")
        env.settle()
        _make_late(env, late["sys_id"], hours=3)
        fresh = env.case(description=COMPLETE, priority="3", short_description="Second case, just raised")
        env.settle()
        client = TestClient(admin_app(env.rt))
        page = client.get("/admin/partners", headers=AUTH)
        api = client.get("/admin/api/partner-response", headers=AUTH)
        anonymous = client.get("/admin/api/partner-response")
    finally:
        env.rt.stop()
    assert anonymous.status_code == 401
    [dcc] = api.json()
    assert (dcc["key"], dcc["response_minutes"], dcc["hours"], dcc["in_hours_now"]) == ("dcc", 60, "24x7", True)
    [breach] = dcc["breaches"]
    assert (breach["sys_id"], breach["number"], breach["in_hours"]) == (late["sys_id"], late["number"], True)
    assert breach["acknowledged_at"] is None and breach["status"] == "raised"
    assert datetime.fromisoformat(breach["breached_at"]) > datetime.fromisoformat(breach["raised_at"])
    waiting = {w["number"]: w for w in dcc["waiting"]}
    assert set(waiting) == {late["number"], fresh["number"]}
    assert waiting[late["number"]]["late"] and waiting[late["number"]]["waited_minutes"] >= 180
    assert not waiting[fresh["number"]]["late"] and waiting[fresh["number"]]["waited_minutes"] < 10

    assert page.status_code == 200 and "Switching Service Desk (DCC)" in page.text
    breaches = page.text.split('class="breaches"')[1]
    assert late["number"] in breaches and late["sys_id"] in breaches and fresh["number"] not in breaches
    assert "in hours" in breaches and "not yet" in breaches
    assert page.text.count('status s-late">late') == 1 and page.text.count('status s-within">within') == 1


def _state(i: int, **fields: Any) -> dict[str, Any]:
    raised = (datetime.now(UTC) - timedelta(minutes=i % 300)).isoformat()
    base = {"status": "closed", "partner": "dcc", "number": f"CS{i:07d}", "our_id": f"{i:032x}"}
    return {**base, "raised_at": raised, "ack_at": raised, "breached": None, "priority": "3", **fields}


def _add_states(env: Env, ids: range, *, waiting_and_breached: bool) -> None:
    """Case states in bulk: closed ones, and (when asked) a waiting and a breached case per 1,000."""
    rows = []
    for i in ids:
        if waiting_and_breached and i % 1000 == 0:
            st = _state(i, status="raised", ack_at=None)
        elif waiting_and_breached and i % 1000 == 1:
            st = _state(i, breached=datetime.now(UTC).isoformat())
        else:
            st = _state(i)
        rows.append({"flow": "partner-case", "key": f"case:{i:032x}", "state": json.dumps(st), "updated_at": 0})
    with env.rt.store.begin() as conn:
        conn.execute(sa.insert(flow_state), rows)


def _work(client: TestClient, env: Env) -> int:
    """The SQLite instructions the page's queries take (after a warm-up request)."""
    assert client.get("/admin/partners", headers=AUTH).status_code == 200
    counter = SqliteWork(env.rt.store)
    try:
        assert client.get("/admin/partners", headers=AUTH).status_code == 200
    finally:
        counter.close()
    return counter.steps


def test_the_view_reads_only_waiting_and_breached_cases_of_a_large_flow_state_table(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    """Through the state's expression indexes (migration 0004) the page reads the waiting and breached cases
    only: 27,000 more closed cases cost it nothing. Counted as SQLite instructions, not timed."""
    env = make_env(tmp_path, *emulators, **ADMIN)
    try:
        _add_states(env, range(3_000), waiting_and_breached=True)
        client = TestClient(admin_app(env.rt))
        before = _work(client, env)
        _add_states(env, range(3_000, 30_000), waiting_and_breached=False)
        after = _work(client, env)
        response = client.get("/admin/partners", headers=AUTH)
        [dcc] = client.get("/admin/api/partner-response", headers=AUTH).json()
    finally:
        env.rt.stop()
    assert response.status_code == 200
    assert len(dcc["waiting"]) == 3 and len(dcc["breaches"]) == 3
    assert before > 0, "the counter saw the page's queries"
    assert after <= 1.5 * before + 1000, f"the page's queries grew with the closed cases: {before} -> {after}"
