"""The Jira adapter against the Jira emulator over real HTTP: the e-bonding life of one case (create, comment,
partner work, transition, lookup, polling), redeliveries without duplicates, signed webhooks, and faults
classified the way the dispatcher needs them.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bridge.adapters.base import Operation
from bridge.adapters.jira import JiraAdapter, from_config
from bridge.errors import PermanentError, RateLimitedError, TransientError
from bridge.failures import decide
from bridge_emulators.jira import JiraEmulator


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def adapter_for(emu: JiraEmulator, **extra: Any) -> JiraAdapter:
    config = {
        "base_url": emu.url,
        "email": "bridge@example.com",
        "api_token": "jira-token",
        "service_desk_id": "1",
        "request_type_id": "10",
        "project_key": "MHHS",
        "read_timeout": 5,
        **extra,
    }
    return from_config("partner-jira", config)


def adapter_for_token(jira: JiraAdapter, token: str) -> JiraAdapter:
    data = jira.settings.model_dump()
    return from_config("partner-jira", {**data, "api_token": token})


def op(action: str, payload: dict[str, Any], **kw: Any) -> Operation:
    return Operation(
        id=1,
        route="case-to-partner",
        target_system="partner-jira",
        target_key="sn:CS0001",
        action=action,
        payload=payload,
        idempotency_key="case-to-partner:CS0001:1",
        **kw,
    )


CASE = {"summary": "DIP message rejected", "description": "Impact: reads late", "external_ref": "CS0001"}
BY_REF = {"field": "external_ref", "value": "CS0001"}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 7, 1, 9, 0, tzinfo=UTC))


#: the emulator's search sees writes this late, as Jira Cloud's index does; the adapter must stay correct
LAG_MS = 3000


@pytest.fixture
def emu(clock: Clock) -> Iterator[JiraEmulator]:
    with JiraEmulator(clock=clock, timezone="Europe/London", search_lag_ms=LAG_MS) as emulator:
        yield emulator


@pytest.fixture
def jira(emu: JiraEmulator) -> Iterator[JiraAdapter]:
    adapter = adapter_for(emu)
    yield adapter
    adapter.close()


def test_case_life_create_comment_partner_work_transition_lookup_poll(
    emu: JiraEmulator, jira: JiraAdapter, clock: Clock
) -> None:
    assert "MHHS Bridge" in jira.check() and "Europe/London" in jira.check()
    emu.state.create("Unrelated, near-identical reference", customfield_10050="CS0001-A")
    created = jira.deliver(op("create", {**CASE, "priority": "High", "labels": ["mhhs"]}))
    key = created.target_id
    assert key == "MHHS-2"
    assert created.version == jira.get(key).version  # the create's version is the issue's `updated`
    clock.advance(minutes=1)
    updated = jira.deliver(op("update", {"description": "Impact: 40k reads late"}, target_id=key))
    assert updated.version == jira.get(key).version and updated.version > (created.version or "")
    jira.deliver(op("comment", {"text": "Evidence attached", "public": True}, target_id=key))
    note = base64.b64encode(b"DIP status: rejected (E042)").decode()
    jira.deliver(
        op("attach", {"file_name": "dip.txt", "content_type": "text/plain", "content_b64": note}, target_id=key)
    )

    clock.advance(minutes=5)  # the partner's agent works the ticket
    emu.state.add_comment(key, "We are on it", public=True)
    emu.state.add_comment(key, "Internal: ask the DIP team", public=False)
    emu.state.transition(key, "In Progress")

    seen = jira.comments(key, since=clock.now - timedelta(minutes=1))
    assert [(c.body, c.public, c.author_name) for c in seen] == [("We are on it", True, "Partner Agent")]
    assert len(jira.comments(key, public_only=False, include_own=True)) == 3

    jira.deliver(op("transition", {"to": "Resolved", "resolution": "Done"}, target_id=key))
    again = jira.deliver(op("transition", {"to": "Resolved"}, target_id=key, attempts=2))
    assert again.detail["noop"] is True
    with pytest.raises(PermanentError, match="cannot go from 'Resolved' to 'Waiting for customer'"):
        jira.deliver(op("transition", {"to": "Waiting for customer"}, target_id=key))
    state = jira.get(key)
    assert (state.status, state.status_category, state.resolution) == ("Resolved", "done", "Done")

    assert jira.lookup(op("create", CASE, correlation=BY_REF, attempts=2)) == key
    assert jira.lookup(op("create", CASE, correlation={**BY_REF, "value": "CS9999"})) is None

    clock.advance(milliseconds=LAG_MS)  # the search index has caught up with the partner's work
    polled = list(jira.iter_updated(clock.now - timedelta(minutes=2), overlap=timedelta(0)))
    assert [i.key for i in polled] == [key]  # MHHS-1 was last touched 7 minutes earlier
    everything = list(jira.iter_updated(datetime(2024, 7, 1, 8, 59, tzinfo=UTC), overlap=timedelta(0)))
    assert [i.key for i in everything] == ["MHHS-1", key]
    assert everything[1].external_ref == "CS0001"


def test_polling_reads_dates_in_the_account_zone(emu: JiraEmulator, jira: JiraAdapter, clock: Clock) -> None:
    emu.state.create("at 10:00 London")  # 09:00 UTC in summer time
    clock.advance(milliseconds=LAG_MS)  # once the search index shows it
    since = datetime(2024, 7, 1, 9, 0, 30, tzinfo=UTC)  # JQL minute precision: 10:00 London, still included
    assert [i.key for i in jira.iter_updated(since, overlap=timedelta(0))] == ["MHHS-1"]
    assert list(jira.iter_updated(since + timedelta(minutes=1), overlap=timedelta(0))) == []


@pytest.mark.parametrize(("search_api", "deployment"), [("jql", "cloud"), ("legacy", "datacenter")])
def test_iter_updated_pages_through_both_search_apis(clock: Clock, search_api: str, deployment: str) -> None:
    with JiraEmulator(clock=clock, deployment=deployment, search_lag_ms=LAG_MS) as emu:
        for n in range(7):
            emu.state.create(f"Issue {n}")
            clock.advance(seconds=10)
        adapter = adapter_for(emu, search_api=search_api, page_size=3)
        keys = [i.key for i in adapter.iter_updated(datetime(2024, 7, 1, 8, 0, tzinfo=UTC))]
        assert keys == [f"MHHS-{n}" for n in range(1, 8)]
        searches = emu.stats()["by_method_resource"]["POST search"]  # type: ignore[index]
        assert searches == 3


def test_the_legacy_search_on_cloud_is_a_clear_permanent_failure(emu: JiraEmulator) -> None:
    # Jira Cloud answers /rest/api/2/search with 410 Gone since CHANGE-2046: a bridge configured for it must say
    # so at `bridge partners check` and on every poll, not pass here and fail in production
    legacy = adapter_for(emu, search_api="legacy")
    for call in (legacy.check, lambda: list(legacy.iter_updated(datetime(2024, 7, 1, tzinfo=UTC)))):
        with pytest.raises(PermanentError, match="set search_api: jql") as caught:
            call()
        assert decide(caught.value).verdict == "dead"
    assert "MHHS Bridge" in adapter_for(emu).check()


def test_redeliveries_do_not_duplicate(emu: JiraEmulator, jira: JiraAdapter) -> None:
    key = jira.deliver(op("create", CASE)).target_id
    assert key is not None
    comment = op("comment", {"text": "Any update?", "public": True}, target_id=key)
    jira.deliver(comment)
    assert jira.deliver(op("comment", comment.payload, target_id=key, attempts=2)).detail["redelivered"] is True
    content = base64.b64encode(b"x" * 100).decode()
    attach = {"file_name": "log.txt", "content_type": "text/plain", "content_b64": content}
    jira.deliver(op("attach", attach, target_id=key))
    assert jira.deliver(op("attach", attach, target_id=key, attempts=2)).detail["redelivered"] is True
    issue = emu.state.get(key)
    assert len(issue.comments) == 1 and len(issue.attachments) == 1


def test_an_answer_lost_after_the_create_is_found_by_lookup(emu: JiraEmulator, jira: JiraAdapter) -> None:
    emu.set_faults(fault_rate=1.0, fault_kinds=("lost",))
    with pytest.raises(TransientError):
        jira.deliver(op("create", CASE, correlation=BY_REF))
    emu.set_faults(fault_rate=0.0)
    assert emu.state.search("project = MHHS") == []  # the lagging index does not show it yet...
    assert jira.lookup(op("create", CASE, correlation=BY_REF, attempts=2)) == "MHHS-1"  # ...the lookup finds it
    assert len(emu.state.issues()) == 1
    jira.deliver(op("create", {**CASE, "summary": "Another case"}))
    emu.state.edit("MHHS-2", fields={"customfield_10050": "CS0001"}, actor=emu.state.users[0])
    with pytest.raises(PermanentError, match="2 issues"):
        jira.lookup(op("create", CASE, correlation=BY_REF, attempts=2))


def test_a_lookup_trusts_a_consistent_search_only_when_told_it_is(emu: JiraEmulator, jira: JiraAdapter) -> None:
    # the contrast: a site configured as not lagging (search_lag_seconds 0) would raise the request twice
    emu.set_faults(fault_rate=1.0, fault_kinds=("lost",))
    with pytest.raises(TransientError):
        jira.deliver(op("create", CASE, correlation=BY_REF))
    emu.set_faults(fault_rate=0.0)
    assert adapter_for(emu, search_lag_seconds=0).lookup(op("create", CASE, correlation=BY_REF, attempts=2)) is None
    assert jira.lookup(op("create", CASE, correlation=BY_REF, attempts=2)) == "MHHS-1"


def test_polling_reads_again_what_the_lagging_index_showed_late(emu: JiraEmulator, clock: Clock) -> None:
    # an update indexed late (90 s) while a later one was indexed at once: the next poll still reads the first
    # update, because the poll overlap is never shorter than the search lag
    for summary in ("A", "B"):
        emu.state.create(summary)
    clock.advance(minutes=5)
    emu.set_faults(search_lag_ms=90_000)
    emu.state.transition("MHHS-1", "In Progress")  # 09:05:00, searchable from 09:06:30
    clock.advance(seconds=70)
    emu.set_faults(search_lag_ms=0)
    emu.state.transition("MHHS-2", "In Progress")  # 09:06:10, searchable at once
    jira = adapter_for(emu, search_lag_seconds=120)
    first = list(jira.iter_updated(clock.now - timedelta(minutes=1), overlap=timedelta(0)))
    assert [(i.key, i.status) for i in first] == [("MHHS-2", "In Progress")]
    watermark = max(i.updated for i in first)
    clock.advance(seconds=30)
    second = {i.key: i.version for i in jira.iter_updated(watermark, overlap=timedelta(0))}
    assert second["MHHS-1"] == jira.get("MHHS-1").version  # the late-indexed update is read, not skipped
    trusting = adapter_for(emu, search_lag_seconds=0)  # the contrast: a poll that trusts the index misses it
    assert "MHHS-1" not in {i.key for i in trusting.iter_updated(watermark, overlap=timedelta(0))}


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_injected_faults_are_transient(emu: JiraEmulator, jira: JiraAdapter, kind: str) -> None:
    emu.state.create("Seeded", customfield_10050="CS0001")
    emu.set_faults(fault_rate=1.0, fault_kinds=(kind,))
    calls = [
        lambda: jira.deliver(op("create", CASE)),
        lambda: jira.deliver(op("comment", {"text": "x"}, target_id="MHHS-1")),
        lambda: jira.lookup(op("create", CASE, correlation=BY_REF, attempts=2)),
        lambda: list(jira.iter_updated(datetime(2024, 7, 1, tzinfo=UTC))),
    ]
    for call in calls:
        with pytest.raises(TransientError) as caught:
            call()
        assert decide(caught.value).verdict == "retry"
        assert "jira-token" not in str(caught.value)


def test_rate_limit_is_rate_limited_with_retry_after(emu: JiraEmulator, jira: JiraAdapter) -> None:
    emu.set_faults(rate_limit=2)
    with pytest.raises(RateLimitedError) as limited:
        for _ in range(6):
            jira.check()
    assert limited.value.retry_after == 1.0
    assert decide(limited.value).retry_after == 1.0


def test_client_errors_are_permanent_with_jira_messages(jira: JiraAdapter) -> None:
    with pytest.raises(PermanentError, match="Issue does not exist") as missing:
        jira.get("MHHS-404")
    assert decide(missing.value).verdict == "dead"
    with pytest.raises(PermanentError, match="Priority name 'Urgent' is not valid"):
        jira.deliver(op("create", {**CASE, "priority": "Urgent"}))
    wrong = adapter_for_token(jira, "wrong-token")
    with pytest.raises(PermanentError, match="must be authenticated") as refused:
        wrong.check()
    assert "wrong-token" not in str(refused.value)


def test_a_webhook_from_the_emulator_verifies(clock: Clock) -> None:
    received: list[tuple[str, bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Hub-Signature", ""), body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jira"
    try:
        with JiraEmulator(clock=clock, webhook_url=url, webhook_secret="partner-secret") as emu:
            jira = adapter_for(emu)
            key = jira.deliver(op("create", CASE)).target_id
            emu.state.transition(str(key), "Resolved")
            assert emu.webhooks.wait_idle()
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 2
    for signature, body in received:
        assert JiraAdapter.verify_webhook(body, signature, "partner-secret")
        assert not JiraAdapter.verify_webhook(body, signature, "other-secret")
    resolved = json.loads(received[1][1])
    assert resolved["webhookEvent"] == "jira:issue_updated" and resolved["issue"]["key"] == key


def test_check_finds_a_wrong_service_desk_or_request_type(emu: JiraEmulator) -> None:
    """A reachable site with a request type it does not have would refuse every raise: the check says so first."""
    assert "service desk 1, request type 10" in adapter_for(emu).check()
    with pytest.raises(PermanentError, match=r"check request type 1 of service desk 1: .*'1' does not exist"):
        adapter_for(emu, request_type_id="1").check()
    with pytest.raises(PermanentError, match=r"check service desk 7: .*'7' does not exist"):
        adapter_for(emu, service_desk_id="7").check()
    with pytest.raises(PermanentError, match="request type 11 of service desk 1 has no field customfield_10050"):
        adapter_for(emu, request_type_id="11").check()
