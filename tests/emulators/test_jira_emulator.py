"""The Jira Service Management emulator over real HTTP: every endpoint, JQL, paging, workflow, comments,
attachments, signed webhooks to a local receiver, faults, and the CLI process.

Facts checked against developer.atlassian.com (cited at each test):
https://developer.atlassian.com/cloud/jira/platform/rest/v2/ (platform), https://developer.atlassian.com/cloud/
jira/service-desk/rest/ (JSM), https://developer.atlassian.com/cloud/jira/platform/webhooks/ (webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from bridge_emulators.jira import AGENT, JiraEmulator

AUTH = ("bridge@example.com", "jira-token")
JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
REF = "customfield_10050"


class Client:
    """A logged-in session against one emulator."""

    def __init__(self, url: str, auth: tuple[str, str] = AUTH) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=5, **kwargs)

    def create(self, summary: str = "Meter reads missing", **values: Any) -> dict[str, Any]:
        body = {"serviceDeskId": "1", "requestTypeId": "10", "requestFieldValues": {"summary": summary, **values}}
        response = self.call("POST", "/rest/servicedeskapi/request", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def issue(self, key: str, **params: str) -> dict[str, Any]:
        response = self.call("GET", f"/rest/api/2/issue/{key}", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def search(self, jql: str, **params: Any) -> requests.Response:
        """The search Jira Cloud has (``/search/jql``), with a field so each issue comes with its key."""
        return self.call("GET", "/rest/api/2/search/jql", params={"jql": jql, "fields": "summary", **params})

    def keys(self, jql: str) -> list[str]:
        response = self.search(jql, maxResults=100)
        assert response.status_code == 200, response.text
        return [i["key"] for i in response.json()["issues"]]


class Clock:
    """A settable clock for the emulator, so ``updated`` values are known."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Receiver:
    """A local webhook endpoint recording every POST; answers ``fail_first`` requests with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.received) <= receiver.fail_first else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def emu() -> Iterator[JiraEmulator]:
    with JiraEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: JiraEmulator) -> Client:
    return Client(emu.url)


# -- authentication, myself ---------------------------------------------------------------------------


def test_basic_auth_with_email_and_api_token(emu: JiraEmulator) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/ (email:api_token)
    me = Client(emu.url).call("GET", "/rest/api/2/myself")
    assert me.status_code == 200
    assert me.json()["emailAddress"] == "bridge@example.com"
    assert me.json()["timeZone"] == "UTC"
    for auth in [("bridge@example.com", "wrong"), ("nobody@example.com", "jira-token"), ("", "")]:
        refused = Client(emu.url, auth).call("GET", "/rest/api/2/issue/MHHS-1")
        assert refused.status_code == 401
        assert refused.json()["errorMessages"] == ["Client must be authenticated to access this resource."]
    assert requests.get(f"{emu.url}/rest/api/2/myself", timeout=5).status_code == 401
    agent = Client(emu.url, (AGENT.email, "anything")).call("GET", "/rest/api/2/myself")
    assert agent.status_code == 401  # the partner's agent acts through the Python API, not REST


# -- create and read ----------------------------------------------------------------------------------


def test_create_customer_request_answers_the_request_dto(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-post
    made = client.create("Meter reads missing", description="Since 01:00", **{REF: "CS0001"}, labels=["mhhs"])
    assert made["issueKey"] == "MHHS-1" and made["issueId"].isdigit()
    assert made["serviceDeskId"] == "1" and made["requestTypeId"] == "10"
    assert made["currentStatus"]["status"] == "Waiting for support"
    assert made["currentStatus"]["statusCategory"] == "NEW"
    assert JIRA_TIME.match(made["createdDate"]["jira"])
    assert isinstance(made["createdDate"]["epochMillis"], int)
    values = {v["fieldId"]: v["value"] for v in made["requestFieldValues"]}
    assert values == {"summary": "Meter reads missing", "description": "Since 01:00", REF: "CS0001"}
    assert made["reporter"]["emailAddress"] == "bridge@example.com"
    assert client.create("Second")["issueKey"] == "MHHS-2"


def test_create_request_errors_use_the_servicedesk_envelope(client: Client) -> None:
    no_summary = client.call(
        "POST",
        "/rest/servicedeskapi/request",
        json={"serviceDeskId": "1", "requestTypeId": "10", "requestFieldValues": {"description": "x"}},
    )
    assert no_summary.status_code == 400
    assert "summary" in no_summary.json()["errorMessage"].lower()
    assert "i18nErrorMessage" in no_summary.json()
    bad_type = client.call(
        "POST",
        "/rest/servicedeskapi/request",
        json={"serviceDeskId": "1", "requestTypeId": "99", "requestFieldValues": {"summary": "x"}},
    )
    assert bad_type.status_code == 400
    bad_desk = client.call(
        "POST",
        "/rest/servicedeskapi/request",
        json={"serviceDeskId": "7", "requestTypeId": "10", "requestFieldValues": {"summary": "x"}},
    )
    assert bad_desk.status_code == 404
    unknown = client.call(
        "POST",
        "/rest/servicedeskapi/request",
        json={"serviceDeskId": "1", "requestTypeId": "10", "requestFieldValues": {"summary": "x", "foo": 1}},
    )
    assert unknown.status_code == 400 and "foo" in unknown.json()["errorMessage"]
    assert client.call("GET", "/rest/servicedeskapi/request/MHHS-1").status_code == 404


def test_get_issue_renders_rest_v2_fields(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-issueidorkey-get
    client.create("Reads missing", description="Detail", labels=["mhhs", "dip"], **{REF: "CS0001"})
    issue = client.issue("MHHS-1")
    fields = issue["fields"]
    assert issue["key"] == "MHHS-1" and issue["self"].endswith(f"/rest/api/2/issue/{issue['id']}")
    assert fields["summary"] == "Reads missing" and fields["description"] == "Detail"
    assert fields["status"]["name"] == "Waiting for support"
    assert fields["status"]["statusCategory"] == {**fields["status"]["statusCategory"], "key": "new", "id": 2}
    assert fields["priority"]["name"] == "Medium"
    assert fields["labels"] == ["mhhs", "dip"] and fields[REF] == "CS0001"
    assert fields["resolution"] is None and fields["resolutiondate"] is None
    assert JIRA_TIME.match(fields["created"]) and fields["updated"] == fields["created"]
    assert fields["comment"] == {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}
    assert client.issue("mhhs-1")["key"] == "MHHS-1"
    assert client.issue(issue["id"])["key"] == "MHHS-1"
    only = client.issue("MHHS-1", fields="summary,status")
    assert set(only["fields"]) == {"summary", "status"}
    without = client.issue("MHHS-1", fields="*all,-comment")
    assert "comment" not in without["fields"] and "summary" in without["fields"]


def test_missing_issue_is_404_with_jira_error_body(client: Client) -> None:
    # Jira's body for an unknown or invisible issue: {"errorMessages": [...], "errors": {}}
    missing = client.call("GET", "/rest/api/2/issue/MHHS-404")
    assert missing.status_code == 404
    assert missing.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }
    assert client.call("GET", "/rest/api/2/nothing/here").status_code == 404


def test_concurrent_creates_get_unique_keys(emu: JiraEmulator) -> None:
    keys: list[str] = []

    def create_some() -> None:
        client = Client(emu.url)
        keys.extend(client.create(f"from thread {threading.get_ident()}")["issueKey"] for _ in range(10))

    threads = [threading.Thread(target=create_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"MHHS-{n}" for n in range(1, 61)]
    updated = [i.updated for i in emu.state.issues()]
    assert len(set(updated)) == 60  # every write has its own `updated`


# -- edit -------------------------------------------------------------------------------------------------


def test_edit_fields_and_labels(client: Client, emu: JiraEmulator) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-issueidorkey-put
    client.create("Original")
    before = client.issue("MHHS-1")["fields"]["updated"]
    fields = {"summary": "Changed", "labels": ["a", "b"], REF: "CS0002", "priority": {"name": "High"}}
    edited = client.call("PUT", "/rest/api/2/issue/MHHS-1", json={"fields": fields})
    assert edited.status_code == 204 and edited.content == b""
    after = client.issue("MHHS-1")["fields"]
    assert (after["summary"], after["labels"], after[REF], after["priority"]["name"]) == (
        "Changed",
        ["a", "b"],
        "CS0002",
        "High",
    )
    assert after["updated"] > before
    verbs = {"labels": [{"add": "c"}, {"remove": "a"}]}
    returned = client.call("PUT", "/rest/api/2/issue/MHHS-1", params={"returnIssue": "true"}, json={"update": verbs})
    assert returned.status_code == 200 and returned.json()["fields"]["labels"] == ["b", "c"]
    unchanged = client.issue("MHHS-1")["fields"]["updated"]
    client.call("PUT", "/rest/api/2/issue/MHHS-1", json={"fields": {"summary": "Changed"}})
    assert client.issue("MHHS-1")["fields"]["updated"] == unchanged  # no change, no update


def test_edit_validation_errors_list_every_field(client: Client) -> None:
    client.create("Original")
    bad = {"labels": ["has space"], "customfield_99999": "x", "priority": {"name": "Urgent"}, "status": "Done"}
    refused = client.call("PUT", "/rest/api/2/issue/MHHS-1", json={"fields": bad})
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) == {"labels", "customfield_99999", "priority", "status"}
    assert "cannot be set" in errors["customfield_99999"]
    assert refused.json()["errorMessages"] == []
    assert client.call("PUT", "/rest/api/2/issue/MHHS-1", data=b"{not json").status_code == 400


# -- comments -------------------------------------------------------------------------------------------


def test_servicedesk_comments_public_and_internal(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
    client.create()
    path = "/rest/servicedeskapi/request/MHHS-1/comment"
    public = client.call("POST", path, json={"body": "To the customer", "public": True})
    internal = client.call("POST", path, json={"body": "Agents only", "public": False})
    assert public.status_code == internal.status_code == 201
    assert public.json()["public"] is True and internal.json()["public"] is False
    assert public.json()["author"]["emailAddress"] == "bridge@example.com"
    assert {"epochMillis", "iso8601", "jira", "friendly"} <= set(public.json()["created"])
    every = client.call("GET", path).json()
    assert [c["body"] for c in every["values"]] == ["To the customer", "Agents only"]
    assert every["isLastPage"] is True and every["size"] == 2 and every["start"] == 0
    only_public = client.call("GET", path, params={"internal": "false"}).json()
    assert [c["body"] for c in only_public["values"]] == ["To the customer"]
    only_internal = client.call("GET", path, params={"public": "false"}).json()
    assert [c["body"] for c in only_internal["values"]] == ["Agents only"]
    paged = client.call("GET", path, params={"start": 1, "limit": 1}).json()
    assert [c["body"] for c in paged["values"]] == ["Agents only"] and paged["isLastPage"] is True
    first = client.call("GET", path, params={"limit": 1}).json()
    assert first["isLastPage"] is False and "next" in first["_links"]
    assert client.call("POST", path, json={"body": "  "}).status_code == 400


def test_platform_comments_carry_jsd_public(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-comments/
    client.create()
    path = "/rest/api/2/issue/MHHS-1/comment"
    plain = client.call("POST", path, json={"body": "Public by default"})
    internal_property = [{"key": "sd.public.comment", "value": {"internal": True}}]
    note = client.call("POST", path, json={"body": "Internal", "properties": internal_property})
    assert plain.status_code == note.status_code == 201
    assert plain.json()["jsdPublic"] is True and note.json()["jsdPublic"] is False
    listing = client.call("GET", path).json()
    assert listing["total"] == 2 and [c["body"] for c in listing["comments"]] == ["Public by default", "Internal"]
    assert JIRA_TIME.match(listing["comments"][0]["created"])
    assert client.issue("MHHS-1")["fields"]["comment"]["total"] == 2


def test_partner_agent_api_comments_and_resolves(client: Client, emu: JiraEmulator) -> None:
    client.create()
    emu.state.add_comment("MHHS-1", "Looking into it", public=True)
    emu.state.add_comment("MHHS-1", "Escalate to DIP team", public=False)
    emu.state.transition("MHHS-1", "In Progress")
    emu.state.transition("MHHS-1", "Resolved", resolution="Won't Do")
    fields = client.issue("MHHS-1")["fields"]
    assert fields["status"]["name"] == "Resolved" and fields["resolution"]["name"] == "Won't Do"
    comments = client.call("GET", "/rest/servicedeskapi/request/MHHS-1/comment").json()["values"]
    assert [(c["author"]["displayName"], c["public"]) for c in comments] == [
        ("Partner Agent", True),
        ("Partner Agent", False),
    ]
    with pytest.raises(Exception, match="No transition"):
        emu.state.transition("MHHS-1", "Waiting for customer")


# -- workflow -------------------------------------------------------------------------------------------


def test_transitions_follow_the_workflow(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-issueidorkey-transitions-get
    client.create()
    path = "/rest/api/2/issue/MHHS-1/transitions"

    def available() -> dict[str, str]:
        listing = client.call("GET", path).json()
        assert listing["expand"] == "transitions"
        return {t["to"]["name"]: t["id"] for t in listing["transitions"]}

    assert set(available()) == {"In Progress", "Waiting for customer", "Resolved"}
    assert client.call("POST", path, json={"transition": {"id": available()["In Progress"]}}).status_code == 204
    assert set(available()) == {"Waiting for customer", "Resolved", "Waiting for support"}
    resolve = {"transition": {"id": available()["Resolved"]}, "fields": {"resolution": {"name": "Duplicate"}}}
    assert client.call("POST", path, json=resolve).status_code == 204
    fields = client.issue("MHHS-1")["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done" and fields["resolution"]["name"] == "Duplicate"
    assert JIRA_TIME.match(fields["resolutiondate"])
    assert set(available()) == {"Closed", "Waiting for support"}
    client.call("POST", path, json={"transition": {"id": available()["Closed"]}})
    client.call("POST", path, json={"transition": {"id": available()["Waiting for support"]}})  # reopen
    reopened = client.issue("MHHS-1")["fields"]
    assert reopened["status"]["name"] == "Waiting for support" and reopened["resolution"] is None
    wrong = client.call("POST", path, json={"transition": {"id": "41"}})
    assert wrong.status_code == 400
    assert wrong.json()["errorMessages"] == ["Transition id '41' is not valid for this issue."]
    assert client.call("POST", path, json={}).status_code == 400
    expanded = client.issue("MHHS-1", expand="transitions")
    assert {t["id"] for t in expanded["transitions"]} == set(available().values())


# -- attachments ---------------------------------------------------------------------------------------


def test_attachments_need_the_xsrf_header_and_round_trip(client: Client) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-attachments/#api-rest-api-2-issue-issueidorkey-attachments-post
    client.create()
    path = "/rest/api/2/issue/MHHS-1/attachments"
    content = bytes(range(256)) * 4 + b"\r\n--boundary-lookalike\r\n"
    files = {"file": ("evidence.bin", content, "application/octet-stream")}
    assert client.call("POST", path, files=files).status_code == 403
    made = client.call("POST", path, files=files, headers={"X-Atlassian-Token": "no-check"})
    assert made.status_code == 200
    (meta,) = made.json()
    assert (meta["filename"], meta["size"], meta["mimeType"]) == (
        "evidence.bin",
        len(content),
        "application/octet-stream",
    )
    assert client.call("GET", f"/rest/api/2/attachment/content/{meta['id']}").content == content
    assert client.call("GET", f"/rest/api/2/attachment/{meta['id']}").json()["filename"] == "evidence.bin"
    assert [a["id"] for a in client.issue("MHHS-1")["fields"]["attachment"]] == [meta["id"]]
    wrong_field = {"upload": ("x.txt", b"x", "text/plain")}
    assert client.call("POST", path, files=wrong_field, headers={"X-Atlassian-Token": "no-check"}).status_code == 400


# -- JQL -----------------------------------------------------------------------------------------------


@pytest.fixture
def clocked() -> Iterator[tuple[JiraEmulator, Client, Clock]]:
    clock = Clock(datetime(2024, 1, 15, 10, 0, tzinfo=UTC))
    with JiraEmulator(clock=clock) as emulator:
        yield emulator, Client(emulator.url), clock


def test_jql_updated_since_with_minute_dates_and_order(clocked: tuple[JiraEmulator, Client, Clock]) -> None:
    # JQL date formats: https://support.atlassian.com/jira-software-cloud/docs/jql-fields/#Updated
    _, client, clock = clocked
    for n in range(3):
        client.create(f"Issue {n}")
        clock.advance(minutes=10)
    client.call("PUT", "/rest/api/2/issue/MHHS-1", json={"fields": {"summary": "Touched"}})  # at 10:30
    base = "project = MHHS AND updated >= "
    assert client.keys(base + '"2024/01/15 10:10" ORDER BY updated ASC') == ["MHHS-2", "MHHS-3", "MHHS-1"]
    assert client.keys(base + '"2024-01-15 10:20" ORDER BY updated DESC') == ["MHHS-1", "MHHS-3"]
    assert client.keys(base + '"2024/01/15" ORDER BY created ASC') == ["MHHS-1", "MHHS-2", "MHHS-3"]
    assert client.keys(base + "-5m") == ["MHHS-1"]
    assert client.keys("project = MHHS AND created < '2024/01/15 10:05'") == ["MHHS-1"]
    bad = client.search(base + '"15/01/2024"')
    assert bad.status_code == 400 and "Valid formats include" in bad.json()["errorMessages"][0]


def test_jql_dates_are_read_in_the_user_time_zone() -> None:
    clock = Clock(datetime(2024, 7, 1, 9, 30, tzinfo=UTC))  # 10:30 in London (BST)
    with JiraEmulator(clock=clock, timezone="Europe/London") as emu:
        client = Client(emu.url)
        client.create()
        assert client.issue("MHHS-1")["fields"]["created"].endswith("+0100")
        assert client.keys('updated >= "2024/07/01 10:30"') == ["MHHS-1"]
        assert client.keys('updated >= "2024/07/01 10:31"') == []
        assert client.call("GET", "/rest/api/2/myself").json()["timeZone"] == "Europe/London"


def test_jql_text_custom_field_by_id_number_and_name(client: Client) -> None:
    # text fields take ~ only: https://support.atlassian.com/jira-software-cloud/docs/jql-operators/#CONTAINS--
    client.create("one", **{REF: "CS0001"})
    client.create("two", **{REF: "CS0001-A"})
    client.create("three", **{REF: "CS0002"})
    for field in ('"External Ref"', "cf[10050]", "customfield_10050"):
        assert client.keys(f'{field} ~ "CS0001" ORDER BY key ASC') == ["MHHS-1", "MHHS-2"]  # words, not exact
    assert client.keys('cf[10050] ~ "\\"CS0001-A\\""') == ["MHHS-2"]
    assert client.keys('cf[10050] ~ "\\"CS0001\\\\-A\\""') == ["MHHS-2"]  # a backslash-escaped hyphen
    assert client.keys('cf[10050] ~ "CS000*" ORDER BY key') == ["MHHS-1", "MHHS-2", "MHHS-3"]
    assert client.keys('"External Ref" !~ "CS0001"') == ["MHHS-3"]
    refused = client.search('"External Ref" = "CS0001"')
    assert refused.status_code == 400
    assert refused.json()["errorMessages"] == ["The operator '=' is not supported by the 'External Ref' field."]
    assert client.keys("summary ~ tw*") == ["MHHS-2"]


def test_jql_labels_status_resolution_and_key(client: Client, emu: JiraEmulator) -> None:
    for n in range(11):
        client.create(f"Issue {n}", labels=["mhhs"] if n % 2 else [])
    emu.state.transition("MHHS-2", "In Progress")
    emu.state.transition("MHHS-3", "Resolved")
    assert client.keys("labels = mhhs ORDER BY key ASC")[:2] == ["MHHS-2", "MHHS-4"]
    assert len(client.keys("labels is EMPTY")) == 6
    assert client.keys("labels in (mhhs, other) AND key <= MHHS-4 ORDER BY key") == ["MHHS-2", "MHHS-4"]
    assert client.keys('status = "In Progress"') == ["MHHS-2"]
    assert client.keys("statusCategory = Done") == ["MHHS-3"]
    assert len(client.keys("resolution = Unresolved")) == 10
    assert client.keys("resolution = Done") == ["MHHS-3"]
    assert client.keys("key in (MHHS-2, MHHS-10) ORDER BY key DESC") == ["MHHS-10", "MHHS-2"]  # numeric order
    assert client.keys("project = MHHS ORDER BY key ASC")[-2:] == ["MHHS-10", "MHHS-11"]
    assert client.keys("reporter = currentUser() AND key = MHHS-1") == ["MHHS-1"]
    assert client.keys("NOT (status = 'Waiting for support' OR labels = mhhs)") == ["MHHS-3"]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("nosuchfield = 1", "Field 'nosuchfield' does not exist or you do not have permission to view it."),
        ("status = Pending", "The value 'Pending' does not exist for the field 'status'."),
        ("key = MHHS-999", "An issue with key 'MHHS-999' does not exist for field 'key'."),
        ("project = MHHS AND", "Error in the JQL Query: Expecting a field name but reached the end"),
        ('summary ~ "\\[x\\]"', "'\\[' is an illegal JQL escape sequence"),
        ("project = MHHS ORDER BY", "Error in the JQL Query"),
        ("updated >= now(", "Error in the JQL Query"),
    ],
)
def test_jql_errors_are_400_with_jira_messages(client: Client, jql: str, message: str) -> None:
    refused = client.search(jql)
    assert refused.status_code == 400
    assert message in refused.json()["errorMessages"][0]
    assert refused.json()["errors"] == {}


# -- search paging ---------------------------------------------------------------------------------------


def test_legacy_search_pages_with_start_at_and_total_on_data_center() -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/#api-rest-api-2-search-get
    with JiraEmulator(deployment="datacenter") as emu:
        client = Client(emu.url)
        for n in range(7):
            emu.state.create(f"Issue {n}")
        jql = "project = MHHS ORDER BY key ASC"
        params = {"jql": jql, "startAt": 0, "maxResults": 3}
        first = client.call("GET", "/rest/api/2/search", params=params).json()
        assert (first["startAt"], first["maxResults"], first["total"]) == (0, 3, 7)
        assert [i["key"] for i in first["issues"]] == ["MHHS-1", "MHHS-2", "MHHS-3"]
        assert "comment" not in first["issues"][0]["fields"]  # navigable fields by default
        last = client.call(
            "POST", "/rest/api/2/search", json={"jql": jql, "startAt": 6, "maxResults": 3, "fields": ["summary"]}
        ).json()
        assert [i["key"] for i in last["issues"]] == ["MHHS-7"] and set(last["issues"][0]["fields"]) == {"summary"}
        assert (
            client.call("GET", "/rest/api/2/search", params={**params, "maxResults": 1000}).json()["maxResults"] == 100
        )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cloud_removed_the_legacy_search(client: Client, emu: JiraEmulator, method: str) -> None:
    # https://developer.atlassian.com/changelog/#CHANGE-2046: /rest/api/2/search and /3/search answer 410 Gone
    emu.state.create("Seeded")
    kwargs: dict[str, Any] = (
        {"params": {"jql": "project = MHHS"}} if method == "GET" else {"json": {"jql": "project = MHHS"}}
    )
    for version in ("2", "3", "latest"):
        gone = client.call(method, f"/rest/api/{version}/search", **kwargs)
        assert gone.status_code == 410
        assert "/search/jql" in gone.json()["errorMessages"][0]
    assert client.keys("project = MHHS") == ["MHHS-1"]


def test_search_lags_behind_writes_unless_reconciled() -> None:
    clock = Clock(datetime(2024, 7, 1, 9, 0, tzinfo=UTC))
    with JiraEmulator(clock=clock, search_lag_ms=5000) as emu:
        client = Client(emu.url)
        made = client.create("Fresh")
        assert client.keys("project = MHHS") == []  # not in the index yet
        assert client.call("GET", f"/rest/api/2/issue/{made['issueKey']}").status_code == 200  # reads are not
        body = {"jql": "project = MHHS", "fields": ["summary"], "reconcileIssues": [int(made["issueId"])]}
        reconciled = client.call("POST", "/rest/api/2/search/jql", json=body).json()
        assert [i["key"] for i in reconciled["issues"]] == ["MHHS-1"]
        clock.advance(seconds=5)
        assert client.keys("project = MHHS") == ["MHHS-1"]
        emu.state.transition("MHHS-1", "In Progress")
        assert client.keys('status = "In Progress"') == []  # matched as it was before the change...
        assert client.keys('status = "Waiting for support"') == ["MHHS-1"]
        shown = client.search('status = "Waiting for support"', fields="status").json()["issues"][0]
        assert shown["fields"]["status"]["name"] == "In Progress"  # ...but its fields are read as they are now
        clock.advance(seconds=5)
        assert client.keys('status = "In Progress"') == ["MHHS-1"]
        emu.set_faults(search_lag_ms=0)
        emu.state.transition("MHHS-1", "Waiting for customer")
        assert client.keys('status = "Waiting for customer"') == ["MHHS-1"]
        too_many = {"jql": "project = MHHS", "reconcileIssues": list(range(51))}
        assert client.call("POST", "/rest/api/2/search/jql", json=too_many).status_code == 400


def test_enhanced_search_pages_with_tokens(client: Client, emu: JiraEmulator) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/#api-rest-api-2-search-jql-get
    for n in range(5):
        emu.state.create(f"Issue {n}")
    body: dict[str, Any] = {"jql": "project = MHHS ORDER BY key ASC", "maxResults": 2}
    pages, token = [], None
    while True:
        page = client.call("POST", "/rest/api/2/search/jql", json={**body, "nextPageToken": token}).json()
        pages.append(page["issues"])
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert set(pages[0][0]) == {"id"}  # ids only unless fields are asked for
    with_fields = client.call("GET", "/rest/api/2/search/jql", params={**body, "fields": "summary,updated"}).json()
    assert set(with_fields["issues"][0]["fields"]) == {"summary", "updated"}
    unbounded = client.call("POST", "/rest/api/2/search/jql", json={"jql": "ORDER BY key"})
    assert unbounded.status_code == 400 and "Unbounded" in unbounded.json()["errorMessages"][0]
    forged = client.call("POST", "/rest/api/2/search/jql", json={**body, "nextPageToken": "nonsense"})
    assert forged.status_code == 400


# -- webhooks ---------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def test_webhooks_are_signed_and_shaped_like_jira(receiver: Receiver) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/webhooks/ (event payloads, X-Hub-Signature sha256=)
    with JiraEmulator(webhook_url=receiver.url, webhook_secret="s3cret") as emu:
        client = Client(emu.url)
        client.create("Hooked", **{REF: "CS0009"})
        client.call("POST", "/rest/servicedeskapi/request/MHHS-1/comment", json={"body": "Hi", "public": True})
        emu.state.transition("MHHS-1", "Resolved")
        assert emu.webhooks.wait_idle()
    events = receiver.events()
    kinds = [(e["webhookEvent"], e.get("issue_event_type_name")) for e in events]
    assert kinds == [
        ("jira:issue_created", "issue_created"),
        ("comment_created", None),
        ("jira:issue_updated", "issue_commented"),
        ("jira:issue_updated", "issue_generic"),
    ]
    for headers, body in receiver.received:
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["x-hub-signature"] == expected
        assert headers["x-atlassian-webhook-identifier"]
        assert "x-atlassian-webhook-retry" not in headers
    created, comment, _, resolved = events
    assert created["issue"]["key"] == "MHHS-1" and created["issue"]["fields"][REF] == "CS0009"
    assert isinstance(created["timestamp"], int) and created["user"]["emailAddress"] == "bridge@example.com"
    assert comment["comment"]["body"] == "Hi" and comment["comment"]["jsdPublic"] is True
    assert comment["issue"]["key"] == "MHHS-1" and "summary" in comment["issue"]["fields"]
    items = {i["field"]: i for i in resolved["changelog"]["items"]}
    assert (items["status"]["fromString"], items["status"]["toString"]) == ("Waiting for support", "Resolved")
    assert items["resolution"]["toString"] == "Done"
    assert resolved["issue"]["fields"]["status"]["name"] == "Resolved"
    assert resolved["user"]["displayName"] == "Partner Agent"


def test_webhook_retried_after_a_failure_and_unsigned_without_secret() -> None:
    failing = Receiver(fail_first=1)
    try:
        with JiraEmulator(webhook_url=failing.url, webhook_events=("jira:issue_created",)) as emu:
            emu.state.create("Once")
            emu.state.add_comment("MHHS-1", "not subscribed")
            assert emu.webhooks.wait_idle()
            delivery = emu.webhooks.deliveries[0]
            assert (delivery.attempts, delivery.status) == (2, 204)
        (first, _), (second, _) = failing.received
        assert first["x-atlassian-webhook-identifier"] == second["x-atlassian-webhook-identifier"]
        assert second["x-atlassian-webhook-retry"] == "1"
        assert "x-hub-signature" not in first
    finally:
        failing.close()


def test_webhook_configured_at_run_time_via_admin(receiver: Receiver, emu: JiraEmulator) -> None:
    admin = f"{emu.url}/emulator/admin/webhook"
    answer = requests.post(admin, json={"url": receiver.url, "secret": "zq-secret-42"}, timeout=5).json()
    assert answer["secret_set"] is True and "zq-secret-42" not in json.dumps(answer)
    emu.state.create("After")
    assert emu.webhooks.wait_idle()
    assert len(receiver.received) == 1
    assert requests.get(admin, timeout=5).json()["deliveries"][0]["status"] == 204


def test_admin_agent_endpoints(emu: JiraEmulator, client: Client) -> None:
    client.create()
    base = f"{emu.url}/emulator/admin/issues/MHHS-1"
    assert requests.post(f"{base}/comment", json={"body": "Agent says", "public": True}, timeout=5).status_code == 201
    moved = requests.post(f"{base}/transition", json={"status": "Resolved", "resolution": "Done"}, timeout=5)
    assert moved.json()["fields"]["status"]["name"] == "Resolved"
    assert requests.post(f"{emu.url}/emulator/admin/reset", timeout=5).status_code == 200
    assert emu.state.issues() == []


# -- faults -------------------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after() -> None:
    # https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ (429 + Retry-After + X-RateLimit-*)
    now = [datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]  # the site's clock: the windows are its whole seconds
    with JiraEmulator(rate_limit=3, clock=lambda: now[0]) as emu:
        client = Client(emu.url)
        statuses = [client.call("GET", "/rest/api/2/myself") for _ in range(8)]
        assert [r.status_code for r in statuses] == [200] * 3 + [429] * 5, "3 a second, all in one second"
        limited = statuses[3:]
        assert limited[0].headers["Retry-After"] == "1" and limited[0].headers["X-RateLimit-Limit"] == "3"
        assert limited[0].json()["errorMessages"] == ["Rate limit exceeded."]
        now[0] += timedelta(seconds=1)
        assert client.call("GET", "/rest/api/2/myself").status_code == 200
        assert emu.stats()["faults"]["rate_limited"] == len(limited)  # type: ignore[index]


def test_faults_are_seeded_and_spare_admin(emu: JiraEmulator) -> None:
    def run() -> list[int | str]:
        emu.set_faults(fault_rate=0.5, fault_kinds=("500", "503", "drop"), seed=11)
        client = Client(emu.url)
        outcomes: list[int | str] = []
        for _ in range(30):
            try:
                outcomes.append(client.call("GET", "/rest/api/2/myself").status_code)
            except requests.ConnectionError:
                outcomes.append("drop")
        return outcomes

    first = run()
    assert first == run()
    assert {500, 503, "drop", 200} <= set(first)
    assert requests.get(f"{emu.url}/emulator/admin/health", timeout=5).status_code == 200
    emu.set_faults(fault_rate=1.0, fault_kinds=("503",))
    failed = Client(emu.url).call("GET", "/rest/api/2/myself")
    assert failed.status_code == 503 and "errorMessages" in failed.json()
    emu.set_faults(fault_rate=0.0)
    changed = requests.post(f"{emu.url}/emulator/admin/faults", json={"latency_ms": 150}, timeout=5)
    assert changed.json()["latency_ms"] == 150
    assert Client(emu.url).call("GET", "/rest/api/2/myself").status_code == 200
    assert requests.get(f"{emu.url}/emulator/admin/health", timeout=5).status_code == 200
    assert emu.stats()["latency"] == {"requests": 1, "ms": 150}, "the API call was held back, admin was not"
    assert requests.post(f"{emu.url}/emulator/admin/faults", json={"nope": 1}, timeout=5).status_code == 400


# -- the process --------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_cli_runs_the_emulator_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge_emulators.jira", "--port", "0", "--webhook-secret", "x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line
        assert Client(url.group(0)).call("GET", "/rest/api/2/myself").status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
