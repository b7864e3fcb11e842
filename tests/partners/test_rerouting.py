"""Re-routing and withdrawal over real HTTP (CPSD 2(c), 6; Ops Manual 18.5.1): a case routed elsewhere cancels the
first party's ticket with a note that says nothing of where it went, and is raised to the new party; routed back
to an Elexon group it waits on no one; routed back to a party that had it, its earlier ticket is reopened."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.flows.partner.sync import MARKER
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, admin_app
from tests.partners.conftest import CASES, COMPLETE, GROUP_DCC
from tests.partners.jira_harness import GROUP_JIRA, JiraEnv, jira_env

ELEXON_GROUP = "5a1b2c3d4e5f60718293a4b5c6d7e8f9"  # one of Elexon's own resolver groups
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def j(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[JiraEnv]:
    with jira_env(tmp_path, *emulators) as e:
        yield e


def test_rerouted_from_a_servicenow_party_to_a_jira_party_and_back(j: JiraEnv) -> None:
    env = j.env
    case = env.case(description=COMPLETE)
    j.settle()
    [inc] = env.incidents()
    env.central.state.update(CASES, case["sys_id"], {"assignment_group": GROUP_JIRA})
    j.settle()
    theirs = env.partner.state.get("incident", inc["sys_id"])
    assert theirs is not None and theirs["state"] == "8", "the first party's ticket is cancelled"
    [note] = [c for c in env.journal(env.partner, inc["sys_id"]) if "re-routed" in c]
    assert MARKER.search(note) and "Siemens" not in note and "Jira" not in note, "nothing of the new party"
    issue = j.only_issue()
    ours = env.get_case(case["sys_id"])
    assert (ours["state"], ours["hold_reason"], ours["u_external_reference"]) == ("18", "4", issue.key)
    notes = env.journal(env.central, case["sys_id"], "work_notes")
    assert any(
        n.startswith("Withdrawn from Switching Service Desk (DCC): the case is re-routed to Siemens") for n in notes
    )
    assert notes[-1].startswith(
        f"Raised to Siemens Service Desk: a request on its Jira Service Management desk, {issue.key}"
    )
    env.partner.state.update("incident", inc["sys_id"], {"comments": "Closing on our side then."})
    j.settle()  # the first party's later changes stay theirs
    assert not [n for n in env.journal(env.central, case["sys_id"], "work_notes") if "Closing on our side" in n]

    env.central.state.update(CASES, case["sys_id"], {"assignment_group": GROUP_DCC})  # back to the first party
    j.settle()
    assert len(env.incidents()) == 1, "its earlier ticket is reopened, not a second one created"
    assert env.partner.state.get("incident", inc["sys_id"])["state"] == "2"  # type: ignore[index]
    assert (
        j.jira.state.get(issue.key).status.name == "Resolved" and j.jira.state.get(issue.key).resolution == "Won't Do"
    )
    assert env.get_case(case["sys_id"])["state"] == "18"
    assert not env.dead()


def test_routed_back_to_an_elexon_group_waits_on_no_one(j: JiraEnv) -> None:
    env = j.env
    case = env.case(description=COMPLETE, assignment_group=GROUP_JIRA)
    j.settle()
    issue = j.only_issue()
    env.central.state.update(CASES, case["sys_id"], {"assignment_group": ELEXON_GROUP})
    j.settle()
    theirs = j.jira.state.get(issue.key)
    assert (theirs.status.name, theirs.resolution) == ("Resolved", "Won't Do")
    assert [c.body for c in theirs.comments if c.public and "re-routed" in c.body]
    ours = env.get_case(case["sys_id"])
    assert (ours["state"], ours["hold_reason"]) == ("10", "")
    assert env.incidents() == [] and len(j.issues()) == 1 and not env.dead()


def test_a_dead_lettered_raise_rerouted_then_retried_leaves_no_ticket_open_on_the_wrong_party(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    with jira_env(tmp_path, *emulators, request_type_id="99", settings={"admin": {"tokens": [ADMIN_TOKEN]}}) as bad:
        env = bad.env
        case = env.case(description=COMPLETE, assignment_group=GROUP_JIRA)
        bad.settle()
        assert bad.issues() == [] and len(env.dead()) == 1
        env.central.state.update(CASES, case["sys_id"], {"assignment_group": GROUP_DCC})
        bad.settle()
        [inc] = env.incidents()
        assert env.get_case(case["sys_id"])["state"] == "18"
        bad.jira.state.request_types["99"] = dataclasses.replace(bad.jira.state.request_types["10"], id="99")
        client = TestClient(admin_app(env.rt))
        [letter] = client.get("/admin/api/dead-letters?status=open", headers=AUTH).json()
        assert client.post(f"/admin/api/dead-letters/{letter['id']}/retry", headers=AUTH).status_code == 200
        bad.settle()
        late = bad.only_issue()  # created by the retry, then cancelled: the case is with DCC now
        assert (late.status.name, late.resolution) == ("Resolved", "Won't Do")
        assert env.get_case(case["sys_id"])["u_external_reference"] == inc["number"]
        assert len(env.incidents()) == 1
