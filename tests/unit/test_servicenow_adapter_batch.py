"""ServiceNow adapter, Batch API writes: the request shape and how each item's answer becomes its own outcome
(the same classification as the call alone), including answers an instance should not give."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from bridge.adapters.base import BatchingAdapter, DeliveryResult, Operation
from bridge.adapters.servicenow import ServiceNowAdapter, Settings
from bridge.errors import PermanentError, RateLimitedError, TransientError

BASE = "https://mhhs.example.service-now.com"
BATCH = f"{BASE}/api/now/v1/batch"
SYS_ID = "0123456789abcdef0123456789abcdef"
pytestmark = pytest.mark.timeout(30)


def make_adapter(**batch: Any) -> ServiceNowAdapter:
    raw = {
        "instance_url": BASE,
        "auth": {"type": "basic", "username": "bridge", "password": "pw-s3cret"},
        "requests_per_second": 1000,
        "burst": 1000,
        "batch": batch,
    }
    return ServiceNowAdapter("sn-batch", Settings.model_validate(raw), session=requests.Session())


def create(n: int) -> Operation:
    return Operation(n, "route", "sn", f"key-{n}", "create", {"table": "incident", "fields": {"n": str(n)}}, f"i{n}")


def served(item_id: str, status: int, body: object, headers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"id": item_id, "status_code": status, "body": base64.b64encode(raw).decode(), "headers": headers or []}


def record(n: int) -> dict[str, Any]:
    return {"result": {"sys_id": f"{n:032x}", "sys_mod_count": "0", "number": f"INC{n:07d}"}}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_settings_batch_on_by_default_with_fifty_per_call_and_an_off_switch() -> None:
    adapter = make_adapter()
    assert isinstance(adapter, BatchingAdapter)
    assert adapter.batch_size == 50 and adapter.batch_actions == {"create", "update", "upsert"}
    assert make_adapter(enabled=False).batch_size == 0
    with pytest.raises(ValueError):
        make_adapter(max_requests=1)


def test_items_carry_each_write_and_answers_come_back_per_item(rsps: responses.RequestsMock) -> None:
    update = Operation(
        9, "route", "sn", "k9", "update", {"table": "incident", "fields": {"a": "b"}}, "i9", target_id=SYS_ID
    )
    rsps.post(
        BATCH,
        json={
            "serviced_requests": [
                served("0", 201, record(1)),
                served("1", 200, record(9)),
                served("2", 400, {"error": {"message": "Invalid field", "detail": "no such field n"}}),
                served(
                    "3", 429, {"error": {"message": "Rate limit exceeded"}}, [{"name": "Retry-After", "value": "7"}]
                ),
                served("4", 503, {"error": {"message": "Service Unavailable"}}),
            ],
            "unserviced_requests": [],
        },
    )
    outcomes = make_adapter().deliver_batch([create(1), update, create(2), create(3), create(4)])
    sent = json.loads(rsps.calls[0].request.body or b"")
    items = sent["rest_requests"]
    assert [i["method"] for i in items] == ["POST", "PATCH", "POST", "POST", "POST"]
    assert items[1]["url"].startswith(f"/api/now/table/incident/{SYS_ID}?sysparm_fields=")
    assert json.loads(base64.b64decode(items[0]["body"])) == {"n": "1"}
    assert rsps.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert isinstance(outcomes[0], DeliveryResult) and outcomes[0].target_id == f"{1:032x}"
    assert isinstance(outcomes[1], DeliveryResult) and outcomes[1].target_id == f"{9:032x}"
    assert isinstance(outcomes[2], PermanentError) and "Invalid field (no such field n)" in str(outcomes[2])
    assert isinstance(outcomes[3], RateLimitedError) and outcomes[3].retry_after == 7
    assert isinstance(outcomes[4], TransientError) and not isinstance(outcomes[4], RateLimitedError)


def test_unserviced_items_go_again_then_retry_through_the_outbox(rsps: responses.RequestsMock) -> None:
    rsps.post(BATCH, json={"serviced_requests": [served("0", 201, record(0))], "unserviced_requests": ["1", "2"]})
    rsps.post(BATCH, json={"serviced_requests": [served("1", 201, record(1))], "unserviced_requests": ["2"]})
    outcomes = make_adapter(resend_rounds=1).deliver_batch([create(0), create(1), create(2)])
    second = json.loads(rsps.calls[1].request.body or b"")
    assert [i["id"] for i in second["rest_requests"]] == ["1", "2"], "only the unserviced ones again"
    assert [type(o).__name__ for o in outcomes] == ["DeliveryResult", "DeliveryResult", "TransientError"]
    assert "not serviced" in str(outcomes[2])


def test_a_failed_call_is_every_items_failure_and_odd_answers_are_transient(rsps: responses.RequestsMock) -> None:
    rsps.post(BATCH, status=401, json={"error": {"message": "User Not Authenticated"}})
    outcomes = make_adapter().deliver_batch([create(0), create(1)])
    assert all(isinstance(o, PermanentError) and o.status == 401 for o in outcomes)
    rsps.replace(responses.POST, BATCH, json={"serviced_requests": [served("0", 201, {"no": "result"})]})
    odd = make_adapter().deliver_batch([create(0), create(1)])
    assert all(isinstance(o, TransientError) for o in odd), "a missing answer or result is retried"


def test_a_malformed_payload_fails_its_own_operation_only(rsps: responses.RequestsMock) -> None:
    rsps.post(BATCH, json={"serviced_requests": [served("1", 201, record(1))], "unserviced_requests": []})
    bad = Operation(5, "route", "sn", "k5", "create", {"table": "incident", "fields": {}}, "i5")
    outcomes = make_adapter().deliver_batch([bad, create(1)])
    assert isinstance(outcomes[0], PermanentError) and isinstance(outcomes[1], DeliveryResult)
    assert [i["id"] for i in json.loads(rsps.calls[0].request.body or b"")["rest_requests"]] == ["1"]


def test_an_instance_refusing_the_batch_api_gets_one_call_per_write(rsps: responses.RequestsMock) -> None:
    rsps.post(BATCH, status=403, json={"error": {"message": "User Not Authorized"}})
    rsps.post(f"{BASE}/api/now/table/incident", status=201, json=record(1))
    adapter = make_adapter()
    outcomes = adapter.deliver_batch([create(0), create(1)])
    assert all(isinstance(o, DeliveryResult) for o in outcomes)
    assert [c.request.url.split("?")[0] for c in rsps.calls] == [
        BATCH,
        f"{BASE}/api/now/table/incident",
        f"{BASE}/api/now/table/incident",
    ]
    assert adapter.batch_size == 0, "the dispatcher stops grouping for it"
