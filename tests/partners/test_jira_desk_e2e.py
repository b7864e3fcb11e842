"""E-bonding with a Jira Service Management desk over real HTTP: central ServiceNow emulator <-> bridge (with its
webhook endpoint on a real port) <-> Jira emulator, whose signed webhooks and JQL polling both feed the bridge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.flows.partner.sync import MARKER
from bridge_emulators.jira import sign
from bridge_emulators.jira.model import Issue
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE
from tests.partners.jira_harness import GROUP_JIRA, SECRET, JiraEnv, jira_env

pytestmark = pytest.mark.slow  # whole desks end to end, seconds each: left out of scripts/check --fast


@pytest.fixture
def jenv(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[JiraEnv]:
    with jira_env(tmp_path, *emulators) as e:
        yield e


def _raise(j: JiraEnv, **values: str) -> tuple[dict[str, str], Issue]:
    case = j.env.case(description=COMPLETE, assignment_group=GROUP_JIRA, **values)
    j.settle()
    return case, j.only_issue()


def _public(issue: Issue) -> list[str]:
    return [c.body for c in issue.comments if c.public]


def test_case_raises_one_jira_request_found_strictly_and_waits(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv, priority="2")
    assert issue.custom["customfield_10050"] == case["number"]
    assert f"bridge-{case['sys_id']}" in issue.labels and issue.priority == "High"
    assert issue.summary.startswith(f"[{case['number']}]")
    ours = jenv.env.get_case(case["sys_id"])
    assert (ours["state"], ours["u_external_reference"]) == ("18", issue.key)
    jenv.settle()
    assert len(jenv.issues()) == 1 and not jenv.env.dead()


def test_public_comments_both_ways_without_echo_internal_ones_stay(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv)
    env, key = jenv.env, issue.key
    env.central.state.update(CASES, case["sys_id"], {"comments": "Any news?", "work_notes": "internal only"})
    jenv.jira.state.add_comment(key, "Looking at it")
    jenv.jira.state.add_comment(key, "partner secret", public=False)
    jenv.settle()
    jenv.settle()
    theirs = _public(jenv.jira.state.get(key))
    ours = env.journal(env.central, case["sys_id"])
    notes = env.journal(env.central, case["sys_id"], "work_notes")  # the partner's comments land as work notes
    assert len([c for c in theirs if "Any news?" in c]) == 1 and len(theirs) == 2, theirs
    assert ours == ["Any news?"] and len([c for c in notes if "Looking at it" in c]) == 1, (ours, notes)
    everything = [c.body for c in jenv.jira.state.get(key).comments]
    assert all("internal only" not in c for c in everything)
    assert all("partner secret" not in c for c in ours + notes)
    assert sum(bool(MARKER.search(c)) for c in theirs + notes) == 2
    assert not env.dead()


def test_state_resolution_and_reopen_both_ways(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv)
    env, key, sys_id = jenv.env, issue.key, case["sys_id"]
    jenv.jira.state.transition(key, "In Progress")
    jenv.settle()
    assert env.get_case(sys_id)["state"] == "18"
    jenv.jira.state.add_comment(key, "Reprocessed the DIP queue.")
    jenv.jira.state.transition(key, "Resolved")
    jenv.settle()
    ours = env.get_case(sys_id)
    assert (ours["state"], ours["hold_reason"]) == ("10", ""), "their resolution is reviewed (Ops Manual 10.3)"
    [review] = [n for n in env.journal(env.central, sys_id, "work_notes") if "Review the resolution" in n]
    assert "Done. Reprocessed the DIP queue." in review
    env.central.state.update(CASES, sys_id, {"state": "6", "close_notes": "Confirmed."})  # Elexon confirms
    jenv.settle()
    assert jenv.jira.state.get(key).status.name == "Resolved"
    assert [c for c in _public(jenv.jira.state.get(key)) if "confirmed your resolution" in c]
    env.central.state.update(CASES, sys_id, {"state": "10"})  # we reopen
    jenv.settle()
    assert jenv.jira.state.get(key).status.name == "Waiting for support"
    assert env.get_case(sys_id)["state"] == "18"
    jenv.jira.state.transition(key, "Resolved")
    jenv.settle()
    assert env.get_case(sys_id)["state"] == "10"
    jenv.jira.state.transition(key, "Waiting for support")  # they reopen while we review
    jenv.settle()
    assert env.get_case(sys_id)["state"] == "18"
    assert not env.dead()


def test_priority_changes_cross_through_the_name_map(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv, priority="3")
    key = issue.key
    jenv.env.central.state.update(CASES, case["sys_id"], {"priority": "2"})
    jenv.settle()
    assert jenv.jira.state.get(key).priority == "High"
    jenv.jira.state.edit(key, fields={"priority": {"name": "Highest"}}, actor=jenv.jira.state.users[1])
    jenv.settle()
    assert jenv.env.get_case(case["sys_id"])["priority"] == "1"
    assert jenv.jira.state.get(key).priority == "Highest" and not jenv.env.dead()


def test_same_webhook_three_times_gives_one_comment(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv)
    key = issue.key
    jenv.jira.configure_webhook(url=None)  # this test sends the deliveries itself
    jenv.jira.state.add_comment(key, "Fixed on our side")
    body = json.dumps({"webhookEvent": "comment_created", "issue": {"key": key}, "comment": {"id": "1"}}).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": sign(body, SECRET)}
    answers = [requests.post(jenv.hook_url, data=body, headers=headers, timeout=10).status_code for _ in range(3)]
    assert answers == [202, 200, 200]
    jenv.settle()
    ours = [c for c in jenv.env.journal(jenv.env.central, case["sys_id"], "work_notes") if "Fixed on our side" in c]
    assert len(ours) == 1


def test_webhook_refuses_bad_signature_and_names_the_bad_field(jenv: JiraEnv) -> None:
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": ""}}).encode()
    unsigned = requests.post(jenv.hook_url, data=body, headers={"X-Hub-Signature": "sha256=00"}, timeout=10)
    assert unsigned.status_code == 401
    signed = requests.post(jenv.hook_url, data=body, headers={"X-Hub-Signature": sign(body, SECRET)}, timeout=10)
    assert signed.status_code == 400 and signed.json()["detail"]["path"] == "$.issue.key"


def test_issue_naming_no_case_or_two_cases_is_dead_lettered_touching_nothing(jenv: JiraEnv) -> None:
    case, _issue = _raise(jenv)
    env = jenv.env
    before = env.get_case(case["sys_id"])
    for _ in range(2):
        env.central.state.insert(CASES, {"short_description": "twin", "number": "CS0099999"})
    jenv.jira.state.create("names two cases", customfield_10050="CS0099999")
    jenv.jira.state.create("names no case", customfield_10050="CS0000404")
    jenv.jira.state.create("not e-bonded", labels=[f"bridge-{'f' * 32}"])
    jenv.jira.state.create("the partner's own business")
    jenv.settle()
    dead = env.dead()
    assert len(dead) == 3, dead
    assert any("CS0099999" in d for d in dead) and any("CS0000404" in d for d in dead)
    assert any("f" * 32 in d for d in dead)
    assert env.get_case(case["sys_id"])["sys_mod_count"] == before["sys_mod_count"]
    assert all(not i.comments for i in jenv.issues()[1:])


def test_partners_check_tests_the_jira_desk(jenv: JiraEnv, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from bridge.cli.partners import partners_app

    app = typer.Typer()
    app.add_typer(partners_app, name="partners")
    config = tmp_path / "bridge.yaml"
    result = CliRunner().invoke(app, ["partners", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "ok    partner-jira (jira, http://127.0.0.1:" in result.output and "MHHS Bridge" in result.output
    assert "request type 10" in result.output and "      for siemens" in result.output
    config.write_text(config.read_text().replace("jira-token", "wrong-token"))
    failed = CliRunner().invoke(app, ["partners", "check", "--config", str(config)])
    assert failed.exit_code == 1 and "FAIL  partner-jira" in failed.output
    assert "wrong-token" not in failed.output


def test_the_emulators_signed_webhook_alone_brings_a_partner_comment(jenv: JiraEnv) -> None:
    case, issue = _raise(jenv)
    jenv.jira.state.add_comment(issue.key, "Seen by webhook")
    assert jenv.jira.webhooks.wait_idle()
    assert jenv.jira.webhooks.deliveries[-1].status in (200, 202)
    env = jenv.env
    env.rt.processor.drain()  # no poll this time: only what the webhook stored
    assert env.rt.dispatcher.drain(timeout=60)
    assert [c for c in env.journal(env.central, case["sys_id"], "work_notes") if "Seen by webhook" in c]
