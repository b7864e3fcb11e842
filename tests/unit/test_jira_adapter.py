"""The Jira adapter against mocked HTTP (``responses``): request shapes, one call per write, strict lookups,
paging, error classification, webhook signatures, and no secret anywhere in what it raises or shows.

Endpoint shapes: https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/ and
https://developer.atlassian.com/cloud/jira/platform/rest/v2/ (issues, transitions, attachments, search).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from pydantic import ValidationError
from responses import matchers

from bridge.adapters import _jira_support
from bridge.adapters.base import Operation
from bridge.adapters.jira import JiraAdapter, Settings, from_config, verify_webhook
from bridge.errors import PermanentError, RateLimitedError, TransientError

BASE = "https://partner.atlassian.net"
TOKEN = "ATATT3xFfGF0-very-secret-token"
ME = {"accountId": "me-1", "displayName": "MHHS Bridge", "timeZone": "UTC", "emailAddress": "bridge@example.com"}
ISSUE_FIELDS = {
    "updated": "2024-01-15T10:30:00.123+0000",
    "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    "resolution": None,
    "customfield_10050": "CS0001",
}


def settings(**overrides: Any) -> dict[str, Any]:
    return {
        "base_url": BASE,
        "email": "bridge@example.com",
        "api_token": TOKEN,
        "service_desk_id": "1",
        "request_type_id": "10",
        "project_key": "MHHS",
        **overrides,
    }


def op(action: str, payload: dict[str, Any], **kw: Any) -> Operation:
    return Operation(
        id=1,
        route="r",
        target_system="partner",
        target_key="case:1",
        action=action,
        payload=payload,
        idempotency_key="k1",
        **kw,
    )


@pytest.fixture
def adapter() -> JiraAdapter:
    return from_config("partner", settings())


@pytest.fixture
def consistent() -> JiraAdapter:
    """A site whose search index does not lag (Data Center): a lookup is one search."""
    return from_config("partner", settings(search_lag_seconds=0))


@pytest.fixture
def mocked() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


# -- settings ------------------------------------------------------------------------------------------


def test_settings_refuse_plain_http_off_loopback_and_unknown_keys(tmp_path: Path) -> None:
    assert Settings.model_validate(settings(base_url="http://127.0.0.1:8082/")).base_url == "http://127.0.0.1:8082"
    for bad in (
        {"base_url": "http://partner.example"},
        {"base_url": "https://user:pw@partner.example"},
        {"verify": False},
        {"project_key": "mhhs"},
        {"external_ref_field": "External Ref"},
        {"api_token": "has space"},
        {"api_token": ""},
        {"timezone": "Mars/Olympus"},
        {"ca_bundle": str(tmp_path / "missing.pem")},
        {"service_desk_id": "one"},
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate(settings(**bad))
    shown = repr(Settings.model_validate(settings())) + str(Settings.model_validate(settings()).model_dump())
    assert TOKEN not in shown


# -- writes: one call each ------------------------------------------------------------------------------


def test_create_posts_a_customer_request(adapter: JiraAdapter, mocked: Any) -> None:
    answer = {"issueId": "10001", "issueKey": "MHHS-7", "createdDate": {"epochMillis": 1705314600123}}
    mocked.post(f"{BASE}/rest/servicedeskapi/request", json=answer, status=201)
    payload = {
        "summary": "Reads missing",
        "description": "Since 01:00",
        "external_ref": "CS0001",
        "priority": "High",
        "labels": ["mhhs"],
    }
    result = adapter.deliver(op("create", payload))
    assert (result.target_id, result.version) == ("MHHS-7", "2024-01-15T10:30:00.123+00:00")
    (call,) = mocked.calls
    assert body_of(call) == {
        "serviceDeskId": "1",
        "requestTypeId": "10",
        "requestFieldValues": {
            "summary": "Reads missing",
            "customfield_10050": "CS0001",
            "description": "Since 01:00",
            "priority": {"name": "High"},
            "labels": ["mhhs"],
        },
    }
    expected_auth = "Basic " + base64.b64encode(f"bridge@example.com:{TOKEN}".encode()).decode()
    assert call.request.headers["Authorization"] == expected_auth
    assert call.request.headers["Accept"] == "application/json"


@pytest.mark.parametrize(
    "payload",
    [
        {"summary": "No reference"},
        {"summary": "", "external_ref": "CS1"},
        {"summary": "x", "external_ref": " CS1"},
        {"summary": "x", "external_ref": "C" * 256},
        {"summary": "x", "external_ref": "CS1", "labels": ["has space"]},
    ],
)
def test_create_refuses_an_incomplete_payload_without_calling(adapter: JiraAdapter, mocked: Any, payload: Any) -> None:
    with pytest.raises(PermanentError):
        adapter.deliver(op("create", payload))
    assert len(mocked.calls) == 0


def test_update_puts_fields_and_returns_the_new_version(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.put(
        f"{BASE}/rest/api/2/issue/MHHS-7",
        match=[matchers.query_param_matcher({"returnIssue": "true"})],
        json={"key": "MHHS-7", "fields": {"updated": "2024-01-15T11:00:00.000+0100"}},
    )
    payload = {"summary": "New", "priority": "Low", "external_ref": "CS0002", "fields": {"customfield_1": "x"}}
    result = adapter.deliver(op("update", payload, target_id="MHHS-7"))
    assert result.version == "2024-01-15T10:00:00.000+00:00"
    assert body_of(mocked.calls[0]) == {
        "fields": {"priority": {"name": "Low"}, "summary": "New", "customfield_10050": "CS0002", "customfield_1": "x"}
    }
    assert adapter.deliver(op("update", {}, target_id="MHHS-7")).detail == {"noop": True}
    with pytest.raises(PermanentError, match="target_id"):
        adapter.deliver(op("update", {"summary": "x"}))
    assert len(mocked.calls) == 1


def test_comment_posts_public_flag_and_refuses_a_non_boolean(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.post(f"{BASE}/rest/servicedeskapi/request/MHHS-7/comment", json={"id": "555"}, status=201)
    result = adapter.deliver(op("comment", {"text": "Note", "public": False}, target_id="MHHS-7"))
    assert result.detail == {"comment_id": "555"}
    assert body_of(mocked.calls[0]) == {"body": "Note", "public": False}
    with pytest.raises(PermanentError, match="public"):
        adapter.deliver(op("comment", {"text": "Note", "public": "false"}, target_id="MHHS-7"))
    assert len(mocked.calls) == 1


def _sd_comment(cid: str, body: str, *, public: bool = True, author: str = "me-1", millis: int = 0) -> dict[str, Any]:
    return {
        "id": cid,
        "body": body,
        "public": public,
        "author": {"accountId": author, "displayName": author},
        "created": {"epochMillis": millis},
    }


def test_comment_redelivery_does_not_post_twice(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.get(f"{BASE}/rest/api/2/myself", json=ME)
    comments_url = f"{BASE}/rest/servicedeskapi/request/MHHS-7/comment"
    listing = {"values": [_sd_comment("1", "Old"), _sd_comment("2", "Note")], "isLastPage": True}
    mocked.get(comments_url, json=listing)
    again = adapter.deliver(op("comment", {"text": "Note", "public": True}, target_id="MHHS-7", attempts=2))
    assert again.detail == {"comment_id": "2", "redelivered": True}
    assert mocked.calls[1].request.params == {"internal": "true", "start": "0", "limit": "50"}
    mocked.get(comments_url, json={"values": [_sd_comment("3", "Other")], "isLastPage": True})
    mocked.post(comments_url, json={"id": "4"}, status=201)
    assert adapter.deliver(op("comment", {"text": "Note"}, target_id="MHHS-7", attempts=3)).detail["comment_id"] == "4"


def _transitions(status: str, *targets: tuple[str, str]) -> dict[str, Any]:
    return {
        "key": "MHHS-7",
        "fields": {"status": {"name": status}},
        "transitions": [{"id": tid, "name": f"to {name}", "to": {"name": name}} for tid, name in targets],
    }


def test_transition_resolves_the_id_by_target_status(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.get(
        f"{BASE}/rest/api/2/issue/MHHS-7",
        match=[matchers.query_param_matcher({"fields": "status", "expand": "transitions"})],
        json=_transitions("In Progress", ("21", "Waiting for customer"), ("31", "Resolved")),
    )
    mocked.post(f"{BASE}/rest/api/2/issue/MHHS-7/transitions", status=204)
    result = adapter.deliver(op("transition", {"to": "resolved", "resolution": "Done"}, target_id="MHHS-7"))
    assert result.detail == {"transition_id": "31", "status": "resolved"}
    assert body_of(mocked.calls[1]) == {"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}}


def test_transition_already_there_is_a_noop_and_unavailable_is_permanent(adapter: JiraAdapter, mocked: Any) -> None:
    url = f"{BASE}/rest/api/2/issue/MHHS-7"
    mocked.get(url, json=_transitions("Resolved", ("41", "Closed")))
    assert adapter.deliver(op("transition", {"to": "Resolved"}, target_id="MHHS-7")).detail["noop"] is True
    mocked.get(url, json=_transitions("Resolved", ("41", "Closed"), ("51", "Waiting for support")))
    with pytest.raises(PermanentError, match=r"cannot go from 'Resolved' to 'In Progress' \(Closed, Waiting"):
        adapter.deliver(op("transition", {"to": "In Progress"}, target_id="MHHS-7"))
    assert len(mocked.calls) == 2


def test_attach_posts_multipart_with_the_xsrf_header(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.post(f"{BASE}/rest/api/2/issue/MHHS-7/attachments", json=[{"id": "900", "filename": "a.csv"}])
    content = b"mpan,status\n"
    payload = {"file_name": "a.csv", "content_type": "text/csv", "content_b64": base64.b64encode(content).decode()}
    assert adapter.deliver(op("attach", payload, target_id="MHHS-7")).detail == {"attachment_id": "900"}
    request = mocked.calls[0].request
    assert request.headers["X-Atlassian-Token"] == "no-check"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="a.csv"' in request.body and content in request.body
    with pytest.raises(PermanentError, match="base64"):
        adapter.deliver(op("attach", {**payload, "content_b64": "%%%"}, target_id="MHHS-7"))


def test_unknown_action_is_permanent(adapter: JiraAdapter) -> None:
    with pytest.raises(PermanentError, match="offers: attach, comment, create, transition, update"):
        adapter.deliver(op("delete", {}))


# -- lookups -------------------------------------------------------------------------------------------------


def _found(*refs: tuple[str, str], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "issues": [{"key": k, "fields": {"customfield_10050": r, "labels": []}} for k, r in refs],
        "isLast": token is None,
    }
    if token:
        page["nextPageToken"] = token
    return page


def test_lookup_quotes_the_value_and_compares_exactly(consistent: JiraAdapter, mocked: Any) -> None:
    mocked.post(
        f"{BASE}/rest/api/2/search/jql", json=_found(("MHHS-1", 'CS-1 "x"\\y extra'), ("MHHS-2", 'CS-1 "x"\\y'))
    )
    found = consistent.lookup(op("create", {}, correlation={"field": "external_ref", "value": 'CS-1 "x"\\y'}))
    assert found == "MHHS-2"
    sent = body_of(mocked.calls[0])
    assert sent["jql"] == 'project = "MHHS" AND cf[10050] ~ "\\"CS\\\\-1 \\\\\\"x\\\\\\"\\\\\\\\y\\"" ORDER BY key ASC'
    assert sent["fields"] == ["customfield_10050", "labels"]


def test_lookup_pages_and_refuses_two_exact_matches(consistent: JiraAdapter, mocked: Any) -> None:
    url = f"{BASE}/rest/api/2/search/jql"
    mocked.post(url, json=_found(("MHHS-1", "CS0001"), token="t2"))
    mocked.post(
        url,
        match=[matchers.json_params_matcher({"nextPageToken": "t2"}, strict_match=False)],
        json=_found(("MHHS-5", "CS0001")),
    )
    with pytest.raises(PermanentError, match="2 issues have external_ref 'CS0001': MHHS-1, MHHS-5"):
        consistent.lookup(op("create", {}, correlation={"field": "external_ref", "value": "CS0001"}))


def test_lookup_none_when_only_fuzzy_matches_and_by_label(consistent: JiraAdapter, mocked: Any) -> None:
    url = f"{BASE}/rest/api/2/search/jql"
    mocked.post(url, json=_found(("MHHS-1", "CS0001-A")))
    assert consistent.lookup(op("create", {}, correlation={"field": "external_ref", "value": "CS0001"})) is None
    mocked.post(url, json={"issues": [{"key": "MHHS-3", "fields": {"labels": ["sn-CS0001"]}}], "isLast": True})
    assert consistent.lookup(op("create", {}, correlation={"field": "label", "value": "sn-CS0001"})) == "MHHS-3"
    assert body_of(mocked.calls[1])["jql"] == 'project = "MHHS" AND labels = "sn-CS0001" ORDER BY key ASC'


def test_lookup_reads_issues_too_recent_for_the_lagging_index_by_key(adapter: JiraAdapter, mocked: Any) -> None:
    # Jira Cloud's search may not show an issue created seconds ago: the issues after the newest one created
    # before the lag window are read by key (reads are consistent), until three keys in a row do not exist
    url = f"{BASE}/rest/api/2/search/jql"
    mocked.get(f"{BASE}/rest/api/2/myself", json=ME)
    mocked.post(url, json=_found(("MHHS-2", "CS0001-A")))
    mocked.post(url, json=_found(("MHHS-4", "CS0009")))
    mocked.get(f"{BASE}/rest/api/2/issue/MHHS-5", json={"key": "MHHS-5", "fields": {"customfield_10050": "CS0002"}})
    mocked.get(f"{BASE}/rest/api/2/issue/MHHS-6", json={"key": "MHHS-6", "fields": {"customfield_10050": "CS0001"}})
    for gap in (7, 8, 9):
        mocked.get(f"{BASE}/rest/api/2/issue/MHHS-{gap}", status=404, json={"errorMessages": ["Issue does not exist"]})
    assert adapter.lookup(op("create", {}, correlation={"field": "external_ref", "value": "CS0001"})) == "MHHS-6"
    settled = body_of(mocked.calls[2])["jql"]
    assert settled.startswith('project = "MHHS" AND created < "') and settled.endswith('" ORDER BY key DESC')


def test_iter_updated_overlaps_at_least_the_search_lag(mocked: Any) -> None:
    lagging = from_config("partner", settings(timezone="UTC", search_lag_seconds=600))
    mocked.post(f"{BASE}/rest/api/2/search/jql", json={"issues": [], "isLast": True})
    assert list(lagging.iter_updated(datetime(2024, 7, 1, 10, 0, tzinfo=UTC), overlap=timedelta(minutes=1))) == []
    assert 'updated >= "2024/07/01 09:50"' in body_of(mocked.calls[0])["jql"]


def test_legacy_search_gone_says_what_to_configure(mocked: Any) -> None:
    legacy = from_config("partner", settings(search_api="legacy", timezone="UTC"))
    gone = {"errorMessages": ["The requested API has been removed."], "errors": {}}
    mocked.post(f"{BASE}/rest/api/2/search", status=410, json=gone)
    with pytest.raises(PermanentError, match="set search_api: jql") as caught:
        list(legacy.iter_updated(datetime(2024, 7, 1, tzinfo=UTC)))
    assert caught.value.status == 410


@pytest.mark.parametrize(
    "correlation",
    [
        {},
        {"field": "external_ref", "value": ""},
        {"field": "external_ref", "value": "   "},
        {"field": "external_ref", "value": None},
        {"field": "external_ref", "value": " CS1"},
        {"field": "external_ref", "value": "***"},
        {"field": "external_ref", "value": "CS1\nproject = X"},
        {"field": "label", "value": "two words"},
        {"field": "summary", "value": "CS1"},
    ],
)
def test_lookup_never_searches_a_loose_value(adapter: JiraAdapter, mocked: Any, correlation: Any) -> None:
    with pytest.raises(PermanentError):
        adapter.lookup(op("create", {}, correlation=correlation))
    assert len(mocked.calls) == 0


# -- reads ---------------------------------------------------------------------------------------------------


def test_iter_updated_uses_the_account_zone_and_streams(mocked: Any) -> None:
    london = from_config("partner", settings())
    mocked.get(f"{BASE}/rest/api/2/myself", json={**ME, "timeZone": "Europe/London"})
    url = f"{BASE}/rest/api/2/search/jql"
    page1 = {"issues": [{"key": "MHHS-1", "id": "1", "fields": ISSUE_FIELDS}], "isLast": False, "nextPageToken": "p2"}
    mocked.post(url, json=page1)
    mocked.post(url, json={"issues": [{"key": "MHHS-2", "id": "2", "fields": ISSUE_FIELDS}], "isLast": True})
    stream = london.iter_updated(datetime(2024, 7, 1, 9, 45, 30, tzinfo=UTC), overlap=timedelta(minutes=5))
    first = next(stream)
    assert len(mocked.calls) == 2  # myself, then only the first page
    assert first.key == "MHHS-1" and first.status == "In Progress" and first.status_category == "indeterminate"
    assert first.external_ref == "CS0001" and first.version == "2024-01-15T10:30:00.123+00:00"
    jql = body_of(mocked.calls[1])["jql"]
    assert jql == 'project = "MHHS" AND updated >= "2024/07/01 10:40" ORDER BY created ASC, key ASC'
    assert [i.key for i in stream] == ["MHHS-2"]
    assert body_of(mocked.calls[2])["nextPageToken"] == "p2"
    with pytest.raises(ValueError, match="timezone-aware"):
        next(london.iter_updated(datetime(2024, 1, 1)))


def test_legacy_search_pages_by_start_at(mocked: Any) -> None:
    legacy = from_config("partner", settings(search_api="legacy", timezone="UTC", page_size=2))
    url = f"{BASE}/rest/api/2/search"
    issue = {"key": "MHHS-1", "id": "1", "fields": ISSUE_FIELDS}
    mocked.post(url, json={"startAt": 0, "maxResults": 2, "total": 3, "issues": [issue, issue]})
    mocked.post(url, json={"startAt": 2, "maxResults": 2, "total": 3, "issues": [issue]})
    assert len(list(legacy.iter_updated(datetime(2024, 1, 1, tzinfo=UTC)))) == 3
    assert [body_of(c)["startAt"] for c in mocked.calls] == [0, 2]


def test_comments_since_public_only_and_not_our_own(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.get(f"{BASE}/rest/api/2/myself", json=ME)
    url = f"{BASE}/rest/servicedeskapi/request/MHHS-7/comment"
    first = {
        "values": [_sd_comment("1", "old", author="agent", millis=1_000), _sd_comment("2", "mine", millis=5_000)],
        "isLastPage": False,
    }
    mocked.get(url, json=first)
    mocked.get(url, json={"values": [_sd_comment("3", "new", author="agent", millis=6_000)], "isLastPage": True})
    found = adapter.comments("MHHS-7", since=datetime.fromtimestamp(2, UTC))
    assert [(c.id, c.body, c.public, c.author_id) for c in found] == [("3", "new", True, "agent")]
    assert mocked.calls[1].request.params["internal"] == "false"
    assert mocked.calls[2].request.params["start"] == "2"


def test_get_reads_one_issue(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.get(f"{BASE}/rest/api/2/issue/MHHS-7", json={"key": "MHHS-7", "id": "7", "fields": ISSUE_FIELDS})
    issue = adapter.get("MHHS-7")
    assert (issue.key, issue.resolution, issue.updated.tzinfo is not None) == ("MHHS-7", None, True)
    assert "customfield_10050" in mocked.calls[0].request.params["fields"]


# -- classification and secrets ---------------------------------------------------------------------------------


def test_errors_are_classified_with_jira_messages(adapter: JiraAdapter, mocked: Any) -> None:
    url = f"{BASE}/rest/api/2/issue/MHHS-7"
    mocked.get(url, status=429, headers={"Retry-After": "7"}, json={"errorMessages": ["Rate limit exceeded."]})
    with pytest.raises(RateLimitedError) as limited:
        adapter.get("MHHS-7")
    assert limited.value.retry_after == 7.0
    mocked.get(url, status=503, body="<html>down</html>")
    with pytest.raises(TransientError):
        adapter.get("MHHS-7")
    not_found = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}
    mocked.get(url, status=404, json=not_found)
    with pytest.raises(PermanentError, match="Issue does not exist") as missing:
        adapter.get("MHHS-7")
    assert missing.value.status == 404
    mocked.put(url, status=400, json={"errorMessages": [], "errors": {"labels": "bad label"}})
    with pytest.raises(PermanentError, match="labels: bad label"):
        adapter.deliver(op("update", {"labels": ["x"]}, target_id="MHHS-7"))
    sd = {"errorMessage": "The request type ID '99' is not valid", "i18nErrorMessage": {}}
    mocked.post(f"{BASE}/rest/servicedeskapi/request", status=400, json=sd)
    with pytest.raises(PermanentError, match="request type ID '99'"):
        adapter.deliver(op("create", {"summary": "s", "external_ref": "r"}))
    mocked.get(f"{BASE}/rest/api/2/myself", status=401, body="Client must be authenticated")
    with pytest.raises(PermanentError):
        adapter.check()


@pytest.mark.parametrize("exc", [requests.ConnectionError("reset"), requests.Timeout("slow")])
def test_network_failures_are_transient(adapter: JiraAdapter, mocked: Any, exc: Exception) -> None:
    mocked.get(f"{BASE}/rest/api/2/issue/MHHS-7", body=exc)
    with pytest.raises(TransientError):
        adapter.get("MHHS-7")


def test_a_non_json_success_is_transient(adapter: JiraAdapter, mocked: Any) -> None:
    mocked.get(f"{BASE}/rest/api/2/myself", body="<html>proxy login</html>", content_type="text/html")
    with pytest.raises(TransientError, match="not JSON"):
        adapter.check()


def test_no_secret_in_errors_or_representations(adapter: JiraAdapter, mocked: Any) -> None:
    raised: list[BaseException] = []
    mocked.get(f"{BASE}/rest/api/2/issue/A-1", status=400, json={"errorMessages": ["bad"]})
    mocked.get(f"{BASE}/rest/api/2/issue/A-2", status=500, body="boom")
    mocked.get(f"{BASE}/rest/api/2/issue/A-3", body=requests.ConnectionError(f"{BASE}/?token={TOKEN}"))
    for key in ("A-1", "A-2", "A-3"):
        with pytest.raises(Exception) as caught:
            adapter.get(key)
        raised.append(caught.value)
    encoded = base64.b64encode(f"bridge@example.com:{TOKEN}".encode()).decode()
    for error in raised:
        text = f"{error} {error!r} {getattr(error, 'body', '')} {error.__cause__!r}"
        assert TOKEN not in text and encoded not in text
    assert TOKEN not in repr(adapter) and TOKEN not in repr(adapter.settings)


# -- webhooks and quoting ----------------------------------------------------------------------------------------


def test_verify_webhook_is_strict_and_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks (X-Hub-Signature: sha256=)
    body = b'{"webhookEvent":"jira:issue_updated"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert verify_webhook(body, good, "s3cret")
    assert verify_webhook(body, good.upper().replace("SHA256=", "sha256="), "s3cret")
    assert JiraAdapter.verify_webhook(body, good, "s3cret")
    for header, secret, data in [
        (good, "other", body),
        (good, "s3cret", body + b" "),
        ("", "s3cret", body),
        (good, "", body),
        (good.replace("sha256=", "sha1="), "s3cret", body),
        (good[7:], "s3cret", body),
        ("sha256=é", "s3cret", body),
    ]:
        assert not verify_webhook(data, header, secret)
    used: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        used.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_jira_support.hmac, "compare_digest", spy)
    assert verify_webhook(body, good, "s3cret")
    assert used


def test_jql_quoting() -> None:
    assert _jira_support.jql_string('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert _jira_support.text_phrase("CS-1") == '"\\"CS\\\\-1\\""'
    with pytest.raises(ValueError):
        _jira_support.jql_string("line\nbreak")
