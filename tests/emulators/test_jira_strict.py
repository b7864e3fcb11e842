"""Where the Jira emulator is as strict as Jira Cloud: request forms, transition screens, history and date JQL,
assignee / issue type search, REST v3 with Atlassian Document Format bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from bridge_emulators.jira import AGENT, JiraEmulator

AUTH = ("bridge@example.com", "jira-token")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 7, 3, 9, 0, tzinfo=UTC)  # a Wednesday

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[JiraEmulator]:
    with JiraEmulator(clock=clock) as emulator:
        yield emulator


def call(emu: JiraEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, emu.url + path, auth=AUTH, timeout=5, **kwargs)


def keys(emu: JiraEmulator, jql: str) -> list[str]:
    found = call(emu, "POST", "/rest/api/2/search/jql", json={"jql": jql, "fields": ["summary"]})
    assert found.status_code == 200, found.text
    return [i["key"] for i in found.json()["issues"]]


def test_a_request_sets_only_the_fields_on_its_request_type_form(emu: JiraEmulator) -> None:
    form = call(emu, "GET", "/rest/servicedeskapi/servicedesk/1/requesttype/11/field").json()["requestTypeFields"]
    assert [(f["fieldId"], f["required"]) for f in form] == [("summary", True), ("description", False)]
    body = {
        "serviceDeskId": "1",
        "requestTypeId": "11",
        "requestFieldValues": {"summary": "x", "priority": {"name": "High"}},
    }
    refused = call(emu, "POST", "/rest/servicedeskapi/request", json=body)
    assert refused.status_code == 400
    assert "'priority' is not on the 'Ask a question' request type's form" in refused.json()["errorMessage"]
    assert emu.state.issues() == []
    body["requestTypeId"] = "10"
    assert call(emu, "POST", "/rest/servicedeskapi/request", json=body).status_code == 201


def test_a_transition_sets_only_the_fields_on_its_screen(emu: JiraEmulator) -> None:
    emu.state.create("Seeded")
    start = {"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}}
    refused = call(emu, "POST", "/rest/api/2/issue/MHHS-1/transitions", json=start)
    assert refused.status_code == 400
    assert "not on the appropriate screen" in refused.json()["errors"]["resolution"]
    assert emu.state.get("MHHS-1").status.name == "Waiting for support"
    unknown = {"transition": {"id": "31"}, "fields": {"customfield_99999": "x"}}
    assert call(emu, "POST", "/rest/api/2/issue/MHHS-1/transitions", json=unknown).status_code == 400
    resolve = {"transition": {"id": "31"}, "fields": {"resolution": {"name": "Won't Do"}}}
    assert call(emu, "POST", "/rest/api/2/issue/MHHS-1/transitions", json=resolve).status_code == 204
    assert emu.state.get("MHHS-1").resolution == "Won't Do"


def test_was_and_changed_search_the_changelog(emu: JiraEmulator, clock: Clock) -> None:
    for summary in ("A", "B", "C"):
        emu.state.create(summary)
    clock.now += timedelta(hours=1)
    emu.state.transition("MHHS-1", "In Progress", author=AGENT)
    clock.now += timedelta(days=1)
    emu.state.transition("MHHS-1", "Resolved", resolution="Done")
    emu.state.transition("MHHS-2", "In Progress", author=emu.state.users[0])  # the bridge's account
    assert keys(emu, 'status WAS "In Progress" ORDER BY key') == ["MHHS-1", "MHHS-2"]
    assert keys(emu, 'status WAS "In Progress" BY ' + AGENT.account_id) == ["MHHS-1"]
    assert keys(emu, 'status WAS NOT "In Progress"') == ["MHHS-3"]
    assert keys(emu, 'status WAS IN ("Resolved", "Closed")') == ["MHHS-1"]
    assert keys(emu, 'status WAS "Waiting for support" BEFORE "2024/07/03 09:30" ORDER BY key') == [
        "MHHS-1",
        "MHHS-2",
        "MHHS-3",
    ]
    assert keys(emu, 'status CHANGED FROM "In Progress" TO "Resolved"') == ["MHHS-1"]
    assert keys(emu, 'status CHANGED AFTER "2024/07/04" ORDER BY key') == ["MHHS-1", "MHHS-2"]
    assert keys(emu, 'status CHANGED ON "2024/07/03"') == ["MHHS-1"]
    assert keys(emu, 'status CHANGED DURING ("2024/07/03 09:30", "2024/07/03 10:30")') == ["MHHS-1"]
    assert keys(emu, "resolution CHANGED") == ["MHHS-1"]
    refused = call(emu, "POST", "/rest/api/2/search/jql", json={"jql": "summary WAS x"})
    assert refused.status_code == 400 and "History searches do not support" in refused.json()["errorMessages"][0]


def test_date_functions_assignee_and_issue_type(emu: JiraEmulator, clock: Clock) -> None:
    emu.state.create("Monday's")  # Wednesday 09:00
    clock.now += timedelta(days=1)
    emu.state.create("Thursday's")
    emu.state.assign("MHHS-2", AGENT.account_id, actor=emu.state.users[0])
    assert keys(emu, "created >= startOfDay()") == ["MHHS-2"]
    assert keys(emu, 'created >= startOfDay("-1d") ORDER BY key') == ["MHHS-1", "MHHS-2"]
    assert keys(emu, "created >= startOfWeek() AND created <= endOfWeek() ORDER BY key") == ["MHHS-1", "MHHS-2"]
    assert keys(emu, "created < startOfMonth()") == []
    assert keys(emu, f"assignee = {AGENT.account_id}") == ["MHHS-2"]
    assert keys(emu, "assignee is EMPTY") == ["MHHS-1"]
    assert keys(emu, "assignee CHANGED TO " + AGENT.account_id) == ["MHHS-2"]
    assert keys(emu, 'issuetype = "[System] Service request" ORDER BY key') == ["MHHS-1", "MHHS-2"]
    assert keys(emu, "type = Task") == []
    bad = call(emu, "POST", "/rest/api/2/search/jql", json={"jql": 'created > startOfDay("-1x")'})
    assert bad.status_code == 400


def test_rest_v3_reads_and_writes_atlassian_document_format(emu: JiraEmulator) -> None:
    emu.state.create("Seeded", description="First line\nsecond line\n\nNext paragraph")
    shown = call(emu, "GET", "/rest/api/3/issue/MHHS-1", params={"fields": "description"}).json()
    doc = shown["fields"]["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    assert [p["type"] for p in doc["content"]] == ["paragraph", "paragraph"]
    assert [n["type"] for n in doc["content"][0]["content"]] == ["text", "hardBreak", "text"]
    body = {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "From v3"}]}],
        }
    }
    assert call(emu, "POST", "/rest/api/3/issue/MHHS-1/comment", json=body).status_code == 201
    assert emu.state.get("MHHS-1").comments[-1].body == "From v3"
    plain = call(emu, "POST", "/rest/api/3/issue/MHHS-1/comment", json={"body": "not a document"})
    assert plain.status_code == 400 and "Atlassian Document" in plain.json()["errors"]["comment"]
    v2 = call(emu, "GET", "/rest/api/2/issue/MHHS-1/comment").json()["comments"]
    assert v2[0]["body"] == "From v3"
    edit = {"fields": {"description": {"type": "doc", "version": 1, "content": [{"type": "rule"}]}}}
    assert call(emu, "PUT", "/rest/api/3/issue/MHHS-1", json=edit).status_code == 204
    assert emu.state.get("MHHS-1").description == "----"
