"""Attachments of e-bonded pairs, both ways, once each: a ServiceNow partner and a Jira partner, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.flows.partner import attachments as att
from bridge_emulators.jira import AGENT
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, Env
from tests.partners.jira_harness import GROUP_JIRA, JiraEnv, jira_env

LOG = b"2025-03-04 10:15:02 DIP REJECTED ERR-4012\n" * 20
SHOT = bytes(range(256)) * 8


@pytest.fixture
def jenv(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[JiraEnv]:
    with jira_env(tmp_path, *emulators) as e:
        yield e


def _names(rows: list[dict[str, str]]) -> list[str]:
    return sorted(r["file_name"] for r in rows)


def test_servicenow_partner_attachments_both_ways_once(env: Env) -> None:
    case = env.case(description=COMPLETE)
    env.central.state.add_attachment(CASES, case["sys_id"], "dip.log", LOG, content_type="text/plain")
    env.settle()
    inc = env.incidents()[0]
    assert _names(env.partner.state.attachments(inc["sys_id"])) == ["dip.log"]
    env.partner.state.add_attachment("incident", inc["sys_id"], "screen.png", SHOT, content_type="image/png")
    env.partner.state.update("incident", inc["sys_id"], {"comments": "Screenshot attached"})
    env.central.state.add_attachment(CASES, case["sys_id"], "dip.log", LOG)  # the same file again
    env.central.state.update(CASES, case["sys_id"], {"comments": "Same log again"})
    env.settle()
    env.settle()
    assert _names(env.central.state.attachments(case["sys_id"])) == ["dip.log", "dip.log", "screen.png"]
    assert _names(env.partner.state.attachments(inc["sys_id"])) == ["dip.log", "screen.png"]
    copied = [r for r in env.central.state.attachments(case["sys_id"]) if r["file_name"] == "screen.png"]
    assert env.central.state.attachment_content(copied[0]["sys_id"]) == SHOT
    assert not env.dead()


def test_jira_partner_attachments_both_ways_once(jenv: JiraEnv) -> None:
    env = jenv.env
    case = env.case(description=COMPLETE, assignment_group=GROUP_JIRA)
    env.central.state.add_attachment(CASES, case["sys_id"], "dip.log", LOG, content_type="text/plain")
    jenv.settle()
    issue = jenv.only_issue()
    assert [a.filename for a in issue.attachments] == ["dip.log"] and issue.attachments[0].content == LOG
    jenv.jira.state.attach(issue.key, "screen.png", SHOT, "image/png", author=AGENT)
    jenv.settle()
    jenv.settle()
    assert _names(env.central.state.attachments(case["sys_id"])) == ["dip.log", "screen.png"]
    assert sorted(a.filename for a in jenv.jira.state.get(issue.key).attachments) == ["dip.log", "screen.png"]
    assert not env.dead()


def test_an_attachment_over_the_limit_is_not_copied_and_said_once() -> None:
    st: dict[str, object] = {}
    big, small = att.Found("a1", "huge.zip", 50, "application/zip"), att.Found("a2", "ok.txt", 3, "text/plain")
    notes: list[str] = []
    copied: list[dict[str, object]] = []

    def run() -> None:
        att.copies(
            st,
            "central",
            [big, small],
            download=lambda _id: b"abc",
            attach=lambda payload: copied.append(payload),  # type: ignore[func-returns-value]
            too_big=lambda item: notes.append(att.over_limit_note(item, direction="to X", max_bytes=10)),  # type: ignore[func-returns-value]
            max_bytes=10,
        )

    run()
    run()  # a redelivery: nothing again
    assert len(notes) == 1 and "huge.zip" in notes[0] and "10 bytes" in notes[0]
    assert [p["file_name"] for p in copied] == ["ok.txt"]
