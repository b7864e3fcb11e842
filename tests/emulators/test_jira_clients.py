"""The Jira emulator driven by clients nobody on this project wrote, used as their documentation says, over real
HTTP: the pycontribs ``jira`` client (3.10) and atlassian-python-api (5.0). Each everyday call must work, and
what it did must be visible in the emulator's state."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from atlassian import Jira, ServiceDesk
from jira import JIRA, JIRAError

from bridge_emulators.jira import AGENT, JiraEmulator

EMAIL, TOKEN = "bridge@example.com", "jira-token"


@pytest.fixture
def emu() -> Iterator[JiraEmulator]:
    with JiraEmulator() as emulator:
        yield emulator


def test_the_pycontribs_client_does_its_everyday_calls(emu: JiraEmulator) -> None:
    client = JIRA(server=emu.url, basic_auth=(EMAIL, TOKEN))  # reads serverInfo on start
    assert client.server_info()["deploymentType"] == "Cloud"
    assert client.myself()["emailAddress"] == EMAIL
    assert "External Ref" in {f["name"] for f in client.fields()}
    assert client.project("MHHS").key == "MHHS" and [p.key for p in client.projects()] == ["MHHS"]
    assert {t.name for t in client.issue_types()} >= {"[System] Service request"}
    assert "High" in {p.name for p in client.priorities()} and "Done" in {r.name for r in client.resolutions()}
    assert "Waiting for support" in {s.name for s in client.statuses()}
    [desk] = client.service_desks()
    assert [t.name for t in client.request_types(desk)] == ["Report a problem", "Ask a question"]
    fields = {"summary": "From the jira client", "customfield_10050": "CS0042"}
    made = client.create_customer_request({"serviceDeskId": desk.id, "requestTypeId": 10, "requestFieldValues": fields})
    issue = client.create_issue(
        project="MHHS", summary="Platform create", issuetype={"name": "[System] Service request"}
    )
    assert (made.key, issue.key) == ("MHHS-1", "MHHS-2")

    issue.update(summary="Renamed", description="Meter reads late")
    client.add_comment(issue.key, "Looking into it")
    assert [c.body for c in client.comments(issue.key)] == ["Looking into it"]
    start = next(t["id"] for t in client.transitions(issue.key) if t["name"] == "Start progress")
    client.transition_issue(issue.key, start)
    client.assign_issue(issue.key, AGENT.account_id)
    client.add_watcher(issue.key, AGENT.account_id)
    assert [w.accountId for w in client.watchers(issue.key).watchers] == [AGENT.account_id]
    client.add_simple_link(issue.key, {"url": "https://desk.example/CS0042", "title": "CS0042"})
    assert [r.object.title for r in client.remote_links(issue.key)] == ["CS0042"]
    client.add_issue_property(issue.key, "bridge", {"sys_id": "abc"})
    assert client.issue_property(issue.key, "bridge").value.sys_id == "abc"
    client.add_attachment(issue.key, io.BytesIO(b"DIP rejected"), filename="dip.txt")

    found = client.search_issues("project = MHHS AND assignee = " + AGENT.account_id)
    assert [i.key for i in found] == [issue.key]
    state = emu.state.get(issue.key)
    assert (state.summary, state.description, state.status.name) == ("Renamed", "Meter reads late", "In Progress")
    assert state.assignee == AGENT and state.remote_links[0].url == "https://desk.example/CS0042"
    assert state.properties == {"bridge": {"sys_id": "abc"}} and state.attachments[0].content == b"DIP rejected"
    assert emu.state.get(made.key).custom == {"customfield_10050": "CS0042"}


def test_the_pycontribs_client_sees_jira_refusals(emu: JiraEmulator) -> None:
    client = JIRA(server=emu.url, basic_auth=(EMAIL, TOKEN))
    with pytest.raises(JIRAError) as off_form:
        client.create_customer_request(
            {"serviceDeskId": "1", "requestTypeId": 11, "requestFieldValues": {"summary": "x", "labels": ["a"]}}
        )
    assert off_form.value.status_code == 400 and "labels" in off_form.value.text
    with pytest.raises(JIRAError) as gone:
        client._session.get(f"{emu.url}/rest/api/2/search", params={"jql": "project = MHHS"})
    assert gone.value.status_code == 410
    with pytest.raises(JIRAError) as unknown:
        JIRA(server=emu.url, basic_auth=(EMAIL, "wrong"))
    assert unknown.value.status_code == 401


def test_atlassian_python_api_does_its_everyday_calls(emu: JiraEmulator) -> None:
    jira = Jira(url=emu.url, username=EMAIL, password=TOKEN, cloud=True)
    desk = ServiceDesk(url=emu.url, username=EMAIL, password=TOKEN, cloud=True)
    assert jira.myself()["displayName"] == "MHHS Bridge"
    assert jira.get_project("MHHS")["projectTypeKey"] == "service_desk"
    assert [d["id"] for d in desk.get_service_desks()] == ["1"]
    made = desk.create_customer_request(1, 10, {"summary": "From atlassian-python-api", "description": "Impact: late"})
    key = made["issueKey"]
    assert desk.get_customer_request(key)["requestFieldValues"][0]["value"] == "From atlassian-python-api"
    desk.create_request_comment(key, "Shared with the customer", public=True)
    emu.state.add_comment(key, "Agent-only note", public=False)
    assert [c["body"] for c in desk.get_request_comments(key)] == ["Shared with the customer", "Agent-only note"]

    jira.update_issue_field(key, {"summary": "Renamed"})
    jira.issue_add_comment(key, "From the platform API")
    jira.set_issue_status(key, "In Progress")
    jira.assign_issue(key, AGENT.account_id)
    jira.issue_add_watcher(key, AGENT.account_id)
    jira.create_or_update_issue_remote_links(key, "https://desk.example/CS1", "CS1")
    jira.set_issue_property(key, "bridge", {"n": 1})
    assert jira.get_issue_property(key, "bridge")["value"] == {"n": 1}
    assert [i["key"] for i in jira.enhanced_jql('status = "In Progress"')["issues"]] == [key]
    state = emu.state.get(key)
    assert (state.summary, state.status.name, state.assignee) == ("Renamed", "In Progress", AGENT)
    assert [w.account_id for w in state.watchers] == [AGENT.account_id] and state.remote_links[0].title == "CS1"
