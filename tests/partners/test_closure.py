"""Closure both ways over real HTTP (CPSD 2(c), 6 and 8; Ops Manual 10.3): our resolve, close and cancel reach the
partner's ticket; their cancel or "not ours" sends our case back to triage, never resolved; a resolved case keeps
no hold reason. A ServiceNow partner (two emulators) and a Jira partner (the Jira emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.flows.partner.sync import MARKER
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, Env, make_env
from tests.partners.jira_harness import GROUP_JIRA, jira_env

TRIAGE = "9a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def tenv(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[Env]:
    e = make_env(tmp_path, *emulators, options={"triage": {"assignment_group": TRIAGE}})
    yield e
    e.rt.stop()


def _raised(env: Env) -> tuple[dict[str, str], dict[str, str]]:
    case = env.case(description=COMPLETE)
    env.settle()
    [inc] = env.incidents()
    return case, inc


def _theirs(env: Env, inc: dict[str, str]) -> dict[str, str]:
    found = env.partner.state.get("incident", inc["sys_id"])
    assert found is not None
    return found


def test_our_resolve_then_close_reach_their_ticket_and_clear_our_hold_reason(tenv: Env) -> None:
    case, inc = _raised(tenv)
    done = {"state": "6", "close_notes": "Fixed the registration on our side."}  # hold_reason left at 4
    tenv.central.state.update(CASES, case["sys_id"], done)
    tenv.settle()
    theirs = _theirs(tenv, inc)
    assert (theirs["state"], theirs["close_code"]) == ("6", "Closed/Resolved by Caller")
    assert "Fixed the registration on our side." in theirs["close_notes"]
    assert tenv.get_case(case["sys_id"])["hold_reason"] == "", "a resolved case waits on no one"
    tenv.central.state.update(CASES, case["sys_id"], {"state": "3"})
    tenv.settle()
    assert _theirs(tenv, inc)["state"] == "7"
    notes = [c for c in tenv.journal(tenv.partner, inc["sys_id"]) if MARKER.search(c)]
    assert any("has resolved case" in c for c in notes) and any("has closed case" in c for c in notes)
    tenv.partner.state.update("incident", inc["sys_id"], {"comments": "Thanks, closing our side."})
    tenv.settle()  # the pair has ended: their later changes stay theirs, nothing is dead-lettered
    assert not tenv.dead()


def test_our_cancel_cancels_theirs_with_a_note(tenv: Env) -> None:
    case, inc = _raised(tenv)
    tenv.central.state.update(CASES, case["sys_id"], {"state": "7"})
    tenv.settle()
    assert _theirs(tenv, inc)["state"] == "8"
    [note] = [c for c in tenv.journal(tenv.partner, inc["sys_id"]) if "withdrawn" in c]
    assert case["number"] in note and MARKER.search(note)
    assert not tenv.dead()


@pytest.mark.parametrize(
    "answer",
    [
        {"state": "8", "close_notes": "Not for us: MPRS owns this."},
        {"state": "6", "close_code": "Not Solved (Raised in error)", "close_notes": "Raised to us in error."},
    ],
    ids=["cancel", "not-ours-code"],
)
def test_their_cancel_or_not_ours_sends_ours_back_to_triage_unresolved(tenv: Env, answer: dict[str, str]) -> None:
    case, inc = _raised(tenv)
    tenv.partner.state.update("incident", inc["sys_id"], answer)
    tenv.settle()
    ours = tenv.get_case(case["sys_id"])
    assert (ours["state"], ours["assignment_group"], ours["hold_reason"]) == ("1", TRIAGE, "")
    assert ours["resolution_code"] == "" and ours["close_notes"] == "", "not resolved"
    [note] = [n for n in tenv.journal(tenv.central, case["sys_id"], "work_notes") if "back for triage" in n]
    assert answer["close_notes"] in note
    tenv.settle()
    assert len(tenv.incidents()) == 1 and not tenv.dead(), "not raised again until the desk routes it again"


def test_jira_declined_goes_to_triage_and_our_cancel_resolves_theirs_as_wont_do(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    with jira_env(tmp_path, *emulators) as j:
        env = j.env
        first = env.case(description=COMPLETE, assignment_group=GROUP_JIRA)
        second = env.case(description=COMPLETE, assignment_group=GROUP_JIRA, short_description="Second case")
        j.settle()
        by_case = {i.custom["customfield_10050"]: i for i in j.issues()}
        declined, withdrawn = by_case[first["number"]], by_case[second["number"]]
        j.jira.state.add_comment(declined.key, "This is an MPRS matter, not ours.")
        j.jira.state.transition(declined.key, "Resolved", resolution="Declined")
        env.central.state.update(CASES, second["sys_id"], {"state": "7"})
        j.settle()
        ours = env.get_case(first["sys_id"])
        assert (ours["state"], ours["hold_reason"]) == ("1", ""), "back to triage, not resolved"
        assert (
            "answered that the case is not theirs (Declined)"
            in env.journal(env.central, first["sys_id"], "work_notes")[-2]
        )
        theirs = j.jira.state.get(withdrawn.key)
        assert (theirs.status.name, theirs.resolution) == ("Resolved", "Won't Do")
        assert [c.body for c in theirs.comments if c.public and "withdrawn" in c.body]
        assert not env.dead()
