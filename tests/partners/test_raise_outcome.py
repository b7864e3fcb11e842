"""A raise is confirmed by its outcome (CPSD 7.1): our case waits only once the partner's ticket exists. A create
the partner refuses (here an invalid Jira request type) leaves our case not waiting, with a work note saying it
was not raised and why, listed on the admin page with no response clock; retrying the dead letter raises it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bridge.sources import ticks
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, admin_app
from tests.partners.conftest import COMPLETE, Env
from tests.partners.jira_harness import GROUP_JIRA, JiraEnv, jira_env

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def bad_type(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[JiraEnv]:
    with jira_env(tmp_path, *emulators, request_type_id="99", settings={"admin": {"tokens": [ADMIN_TOKEN]}}) as e:
        yield e


def _desk(client: TestClient, key: str) -> dict[str, Any]:
    desks = {d["key"]: d for d in client.get("/admin/api/partner-response", headers=AUTH).json()}
    return desks[key]


def _notes(env: Env, sys_id: str) -> list[str]:
    return env.journal(env.central, sys_id, "work_notes")


def test_a_refused_create_leaves_the_case_not_waiting_until_the_dead_letter_is_retried(bad_type: JiraEnv) -> None:
    env = bad_type.env
    case = env.case(description=COMPLETE, assignment_group=GROUP_JIRA, priority="2")
    bad_type.settle()
    assert bad_type.issues() == []
    ours = env.get_case(case["sys_id"])
    assert (ours["state"], ours["hold_reason"]) == ("1", ""), "not waiting on a partner that has no ticket"
    [note] = _notes(env, case["sys_id"])
    assert note.startswith("Not raised to Siemens Service Desk: the request on its Jira Service Management desk")
    assert "request type" in note and "retry the dead letter" in note
    client = TestClient(admin_app(env.rt))
    desk = _desk(client, "siemens")
    assert desk["waiting"] == [] and [n["number"] for n in desk["not_raised"]] == [case["number"]]
    assert "request type" in desk["not_raised"][0]["error"]
    page = client.get("/admin/partners", headers=AUTH).text
    assert 'class="not-raised"' in page and case["number"] in page.split('class="not-raised"')[1]

    [(_n, _s, tick)] = ticks.jobs(env.rt.config, env.rt.ingest)
    tick()
    env.settle()
    assert len(_notes(env, case["sys_id"])) == 1, "no response clock runs for a case that was not raised"

    fixed = dataclasses.replace(bad_type.jira.state.request_types["10"], id="99")
    bad_type.jira.state.request_types["99"] = fixed  # the partner fixes its request type
    [letter] = client.get("/admin/api/dead-letters?status=open", headers=AUTH).json()
    assert client.post(f"/admin/api/dead-letters/{letter['id']}/retry", headers=AUTH).status_code == 200
    bad_type.settle()
    issue = bad_type.only_issue()
    ours = env.get_case(case["sys_id"])
    assert (ours["state"], ours["hold_reason"], ours["u_external_reference"]) == ("18", "4", issue.key)
    raised = _notes(env, case["sys_id"])[-1]
    assert raised == (
        f"Raised to Siemens Service Desk: a request on its Jira Service Management desk, {issue.key}. "
        "This case waits (Awaiting Vendor) until Siemens Service Desk resolves it."
    )
    desk = _desk(client, "siemens")
    assert desk["not_raised"] == [] and [w["number"] for w in desk["waiting"]] == [case["number"]]
    bad_type.settle()
    assert len(bad_type.issues()) == 1 and len(_notes(env, case["sys_id"])) == 2


def test_the_raise_note_says_where_the_case_went(env: Env) -> None:
    case = env.case(description=COMPLETE)
    env.settle()
    [note] = env.journal(env.central, case["sys_id"], "work_notes")
    assert note == (
        "Raised to Switching Service Desk (DCC): an incident on its ServiceNow desk. "
        "This case waits (Awaiting Vendor) until Switching Service Desk (DCC) resolves it."
    )
