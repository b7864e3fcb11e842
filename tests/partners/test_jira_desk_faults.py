"""One e-bonding story with a Jira desk, run clean and with the emulators' fault flags on: the same outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge_emulators.jira import AGENT
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE
from tests.partners.jira_harness import GROUP_JIRA, JiraEnv, jira_env

pytestmark = pytest.mark.slow  # whole desks end to end, seconds each: left out of scripts/check --fast


def _story(j: JiraEnv) -> dict[str, object]:
    """Raise, a comment each way, an attachment each way, the partner resolves, Elexon confirms: what both sides
    end with."""
    env = j.env
    case = env.case(description=COMPLETE, assignment_group=GROUP_JIRA, priority="2")
    env.central.state.add_attachment(CASES, case["sys_id"], "dip.log", b"DIP REJECTED ERR-4012\n" * 50)
    j.settle()
    issue = j.only_issue()
    env.central.state.update(CASES, case["sys_id"], {"comments": "Any news?", "work_notes": "internal only"})
    j.jira.state.add_comment(issue.key, "Looking at it")
    j.jira.state.attach(issue.key, "fix.txt", b"reprocessed", "text/plain", author=AGENT)
    j.settle()
    j.jira.state.add_comment(issue.key, "Reprocessed the DIP queue.")
    j.jira.state.transition(issue.key, "Resolved")
    j.settle()
    j.settle()
    review = env.get_case(case["sys_id"])["state"]
    env.central.state.update(CASES, case["sys_id"], {"state": "6", "close_notes": "Confirmed by Elexon."})
    j.settle()
    ours = env.get_case(case["sys_id"])
    theirs = j.jira.state.get(issue.key)
    notes = env.journal(env.central, case["sys_id"], "work_notes")
    return {
        "issues": len(j.issues()),
        "review_state": review,
        "our_state": ours["state"],
        "notes_have_fix": any("Reprocessed the DIP queue." in n for n in notes),
        "our_comments": sorted(env.journal(env.central, case["sys_id"])),
        "their_comments_as_notes": sorted(
            n.split("\n", 1)[-1].split("\n\n[bridge:")[0] for n in notes if "[bridge:" in n
        ),
        "their_public": sorted(
            c.body.split("\n\n[bridge:")[0].split(":\n", 1)[-1].replace(case["number"], "<case>")
            for c in theirs.comments
            if c.public
        ),
        "our_files": sorted(r["file_name"] for r in env.central.state.attachments(case["sys_id"])),
        "their_files": sorted(a.filename for a in theirs.attachments),
        "their_priority": theirs.priority,
        "dead": env.dead(),
    }


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_same_outcome_with_fault_flags_on(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator], faults: bool
) -> None:
    with jira_env(tmp_path, *emulators) as j:
        if faults:
            j.env.central.set_faults(fault_rate=0.2, seed=5, fault_kinds=("500", "503", "drop"))
            j.jira.set_faults(fault_rate=0.2, seed=5, fault_kinds=("500", "503", "drop", "lost"))
        outcome = _story(j)
        if faults:
            assert dict(j.jira.stats()["faults"])  # type: ignore[call-overload]
            j.env.central.set_faults(fault_rate=0.0)
            j.jira.set_faults(fault_rate=0.0)
    assert outcome == {
        "issues": 1,
        "review_state": "10",
        "our_state": "6",
        "notes_have_fix": True,
        "our_comments": ["Any news?"],
        "their_comments_as_notes": sorted(["Looking at it", "Reprocessed the DIP queue."]),
        "their_public": sorted(
            [
                "Any news?",
                "Looking at it",
                "Reprocessed the DIP queue.",
                "Elexon has confirmed your resolution and resolved case <case>.",
            ]
        ),
        "our_files": ["dip.log", "fix.txt"],
        "their_files": ["dip.log", "fix.txt"],
        "their_priority": "High",
        "dead": [],
    }
