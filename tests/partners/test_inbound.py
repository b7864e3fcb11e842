"""Cases other parties raise to Elexon, end to end over real HTTP (CPSD 7.2; Ops Manual 18.5.4-18.5.6): from a
ServiceNow partner and a Jira partner, each marked as its directory entry says. Our case is created once, linked
both ways, the party recorded as raiser (its customer account), acknowledged on its channel with our number; a
case missing the 7.2.1 contents is created, flagged for triage, and the party asked once; a case our desk marks
outside Elexon's scope gets that answer with our direction and the link ends. (The email desk: test_email_inbound.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.flows.partner.sync import MARKER
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, ELEXON_ON_DCC, Env, make_env
from tests.partners.jira_harness import jira_env

TRIAGE = "9a1b2c3d4e5f60718293a4b5c6d7e8f9"
RAISED = (
    "Since 2025-03-04 10:15 the DIP rejects our MPRS registration flows, probably due to the certificate rotated "
    "that morning. Error code: ERR-4012 on every message; transaction ID: 7f3e2a10-1111-2222-3333-444455556666."
)
OPTIONS = {
    "triage": {"assignment_group": TRIAGE},
    "outside_scope": {"field": "resolution_code", "values": ["Outside Elexon scope"]},
    "inbound": {"incomplete_fields": {"subcategory": "incomplete (CPSD 7.2.1)"}},
}


@pytest.fixture
def ienv(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[Env]:
    e = make_env(tmp_path, *emulators, options=OPTIONS)
    yield e
    e.rt.stop()


def _account(env: Env, key: str) -> str:
    """The party's customer account, as the account sync makes it (its registry key in u_bridge_key)."""
    return env.central.state.insert("customer_account", {"name": key, "u_bridge_key": key})["sys_id"]


def _ours(env: Env) -> list[dict[str, str]]:
    return env.central.state.records(CASES)


def test_a_servicenow_partner_raises_a_case_to_elexon(ienv: Env) -> None:
    account = _account(ienv, "smart-dcc")
    theirs = ienv.partner.state.insert(
        "incident",
        {"short_description": "DIP rejects our flows", "description": RAISED, "assignment_group": ELEXON_ON_DCC},
    )
    ienv.partner.state.insert("incident", {"short_description": "DCC's own business"})
    ienv.settle()
    [case] = _ours(ienv)
    assert case["short_description"] == "[Switching Service Desk (DCC)] DIP rejects our flows"
    assert (case["account"], case["u_external_reference"], case["assignment_group"]) == (
        account,
        theirs["number"],
        TRIAGE,
    )
    assert (case["state"], case["contact_type"], case["subcategory"]) == ("1", "web", ""), "complete: not flagged"
    [ack] = [c for c in ienv.journal(ienv.partner, theirs["sys_id"]) if MARKER.search(c)]
    assert f"received this case as {case['number']}" in ack and "needs" not in ack
    [note] = ienv.journal(ienv.central, case["sys_id"], "work_notes")
    assert note.startswith(f"Raised to Elexon by Switching Service Desk (DCC) (their reference {theirs['number']})")

    ienv.partner.state.update("incident", theirs["sys_id"], {"comments": "Any update?"})
    ienv.central.state.update(CASES, case["sys_id"], {"comments": "We are looking at the DIP certificates."})
    ienv.settle()
    assert len(_ours(ienv)) == 1, "one case however often their record is seen"
    assert [c for c in ienv.journal(ienv.central, case["sys_id"]) if "Any update?" in c], "the raiser's comment"
    assert [c for c in ienv.journal(ienv.partner, theirs["sys_id"]) if "looking at the DIP certificates" in c]

    scope = {
        "state": "6",
        "resolution_code": "Outside Elexon scope",
        "close_notes": "Raise it with the MPRS help desk.",
    }
    ienv.central.state.update(CASES, case["sys_id"], scope)
    ienv.settle()
    [answer] = [c for c in ienv.journal(ienv.partner, theirs["sys_id"]) if "outside Elexon's scope" in c]
    assert "Direction: Raise it with the MPRS help desk." in answer
    ienv.partner.state.update("incident", theirs["sys_id"], {"comments": "Thanks, will do."})
    ienv.settle()
    assert not [c for c in ienv.journal(ienv.central, case["sys_id"]) if "Thanks, will do." in c], "the link ended"
    assert not ienv.dead()


def test_a_case_missing_the_contents_is_created_flagged_and_the_party_asked_once(ienv: Env) -> None:
    theirs = ienv.partner.state.insert(
        "incident",
        {"short_description": "Broken", "description": "It does not work.", "assignment_group": ELEXON_ON_DCC},
    )
    ienv.settle()
    [case] = _ours(ienv)
    assert case["subcategory"] == "incomplete (CPSD 7.2.1)" and case["assignment_group"] == TRIAGE
    [note] = ienv.journal(ienv.central, case["sys_id"], "work_notes")
    assert "Flagged for triage" in note and "its potential root cause" in note
    assert "customer account (smart-dcc) was not found" in note
    ienv.partner.state.update("incident", theirs["sys_id"], {"comments": "See above."})
    ienv.settle()
    asks = [c for c in ienv.journal(ienv.partner, theirs["sys_id"]) if "To triage it, Elexon needs" in c]
    assert len(asks) == 1 and "relevant references (system logs, MPANs or transaction IDs)" in asks[0]


def test_a_jira_partner_raises_a_case_to_elexon(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    with jira_env(tmp_path, *emulators, options=OPTIONS) as j:
        env = j.env
        issue = j.jira.state.create("DIP rejects our flows", description=RAISED, labels=["elexon"])
        j.jira.state.create("Siemens' own business")
        j.settle()
        [case] = _ours(env)
        assert case["short_description"] == "[Siemens Service Desk] DIP rejects our flows"
        assert case["u_external_reference"] == issue.key and RAISED in case["description"]
        [ack] = [c.body for c in j.jira.state.get(issue.key).comments if c.public]
        assert f"received this case as {case['number']}" in ack
        j.jira.state.add_comment(issue.key, "Logs attached to our side.")
        j.settle()
        assert [c for c in env.journal(env.central, case["sys_id"]) if "Logs attached to our side." in c]
        env.central.state.update(CASES, case["sys_id"], {"state": "6", "close_notes": "Certificate re-issued."})
        j.settle()
        told = [c.body for c in j.jira.state.get(issue.key).comments if "has resolved case" in c.body]
        assert told and "Certificate re-issued." in told[0]
        assert j.jira.state.get(issue.key).status.name == "Waiting for support", "their ticket stays theirs"
        second = j.jira.state.create("Flows late", description="Late.", labels=["elexon"])
        j.settle()
        [late] = [c for c in _ours(env) if c["u_external_reference"] == second.key]
        [ask] = [c.body for c in j.jira.state.get(second.key).comments if c.public]
        assert "To triage it, Elexon needs" in ask and late["subcategory"] == "incomplete (CPSD 7.2.1)"
        scope = {"resolution_code": "Outside Elexon scope", "close_notes": "This is a DTS matter: raise it there."}
        env.central.state.update(CASES, late["sys_id"], scope)
        j.settle()
        [answer] = [c.body for c in j.jira.state.get(second.key).comments if "outside Elexon's scope" in c.body]
        assert "Direction: This is a DTS matter: raise it there." in answer
        assert len(_ours(env)) == 2 and not env.dead()
