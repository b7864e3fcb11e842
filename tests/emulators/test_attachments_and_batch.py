"""Attachment API and Batch API."""

from __future__ import annotations

import base64
import hashlib
import json

import requests
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator

ATTACH = "/api/now/attachment"


def _upload(api: Api, record: dict[str, object], name: str = "log.txt", content: bytes = b"hello") -> dict:
    response = api.post(
        f"{ATTACH}/file",
        params={"table_name": "incident", "table_sys_id": record["sys_id"], "file_name": name},
        data=content,
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 201, response.text
    return response.json()["result"]


def test_upload_raw_file_and_read_back(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_AttachmentAPI.md (POST /now/attachment/file: 201,
    # Location, metadata; GET /file returns the bytes)
    incident = api.create("incident", {})
    meta = _upload(api, incident, content=b"line 1\nline 2\n")
    assert meta["table_name"] == "incident" and meta["table_sys_id"] == incident["sys_id"]
    assert meta["size_bytes"] == "14"
    assert meta["hash"] == hashlib.sha256(b"line 1\nline 2\n").hexdigest()
    assert meta["download_link"] == f"{api.base}{ATTACH}/{meta['sys_id']}/file"
    assert meta["content_type"] == "text/plain" and meta["sys_created_by"] == "admin"
    file = api.get(f"{ATTACH}/{meta['sys_id']}/file")
    assert file.content == b"line 1\nline 2\n"
    assert file.headers["Content-Type"] == "text/plain"
    assert json.loads(file.headers["X-Attachment-Metadata"])["file_name"] == "log.txt"
    assert api.get(f"{ATTACH}/{meta['sys_id']}").json()["result"]["file_name"] == "log.txt"


def test_list_attachments_with_query(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_AttachmentAPI.md (GET /now/attachment, sysparm_query)
    first, second = api.create("incident", {}), api.create("incident", {})
    _upload(api, first, "a.txt")
    _upload(api, first, "b.txt")
    _upload(api, second, "c.txt")
    listed = api.get(ATTACH, params={"sysparm_query": f"table_sys_id={first['sys_id']}^ORDERBYfile_name"})
    assert [m["file_name"] for m in listed.json()["result"]] == ["a.txt", "b.txt"]
    assert listed.headers["X-Total-Count"] == "2"


def test_delete_attachment(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/c_AttachmentAPI.md (DELETE: 204; 404 when missing)
    meta = _upload(api, api.create("incident", {}))
    assert api.delete(f"{ATTACH}/{meta['sys_id']}").status_code == 204
    assert api.get(f"{ATTACH}/{meta['sys_id']}").status_code == 404
    assert api.delete(f"{ATTACH}/{meta['sys_id']}").status_code == 404
    assert emulator.state.attachment_content(meta["sys_id"]) is None


def test_upload_errors(api: Api, readonly_api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_AttachmentAPI.md (400 missing parameters, 404 unknown
    # record)
    incident = api.create("incident", {})
    missing = api.post(f"{ATTACH}/file", params={"table_name": "incident"}, data=b"x")
    assert missing.status_code == 400
    unknown = api.post(
        f"{ATTACH}/file",
        params={"table_name": "incident", "table_sys_id": "0" * 32, "file_name": "x"},
        data=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert unknown.status_code == 404
    refused = readonly_api.post(
        f"{ATTACH}/file",
        params={"table_name": "incident", "table_sys_id": incident["sys_id"], "file_name": "x"},
        data=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert refused.status_code == 403


def test_multipart_upload(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_AttachmentAPI.md (POST /now/attachment/upload)
    incident = api.create("incident", {})
    response = api.post(
        f"{ATTACH}/upload",
        data={"table_name": "incident", "table_sys_id": incident["sys_id"]},
        files={"uploadFile": ("shot.png", b"\x89PNG\r\n", "image/png")},
    )
    assert response.status_code == 201, response.text
    meta = response.json()["result"]
    assert (meta["file_name"], meta["content_type"], meta["size_bytes"]) == ("shot.png", "image/png", "6")
    assert api.get(f"{ATTACH}/{meta['sys_id']}/file").content == b"\x89PNG\r\n"


def test_deleting_a_record_deletes_its_attachments(api: Api) -> None:
    incident = api.create("incident", {})
    meta = _upload(api, incident)
    api.delete(f"/api/now/table/incident/{incident['sys_id']}")
    assert api.get(f"{ATTACH}/{meta['sys_id']}").status_code == 404


def _item(item_id: str, method: str, url: str, body: object = None, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": item_id,
        "method": method,
        "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        **extra,
    }
    if body is not None:
        item["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return item


def test_batch_runs_items_and_answers_base64_bodies(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/batch-api.md (batch_request_id, rest_requests,
    # serviced_requests with base64 bodies, unserviced_requests)
    existing = api.create("incident", {"short_description": "existing"})
    emulator.reset_stats()
    payload = {
        "batch_request_id": "b1",
        "rest_requests": [
            _item("11", "POST", "/api/now/table/incident", {"short_description": "from batch"}),
            _item("12", "GET", f"/api/now/table/incident/{existing['sys_id']}", exclude_response_headers=True),
            _item("13", "GET", f"/api/now/table/incident/{'0' * 32}"),
        ],
    }
    response = api.post("/api/now/v1/batch", json=payload)
    assert response.status_code == 200
    body = response.json()
    assert body["batch_request_id"] == "b1" and body["unserviced_requests"] == []
    served = {item["id"]: item for item in body["serviced_requests"]}
    created = json.loads(base64.b64decode(served["11"]["body"]))["result"]
    assert served["11"]["status_code"] == 201 and served["11"]["status_text"] == "Created"
    assert created["short_description"] == "from batch" and created["sys_created_by"] == "admin"
    assert served["12"]["headers"] == []
    assert json.loads(base64.b64decode(served["12"]["body"]))["result"]["number"] == existing["number"]
    assert served["13"]["status_code"] == 404 and served["13"]["error_message"] == "No Record found"
    assert isinstance(served["11"]["execution_time"], int)
    stats = emulator.stats()
    assert stats["requests_total"] == 1 and stats["batch"] == {"items": 3}


def test_batch_needs_credentials_and_rest_requests(api: Api, emulator: ServiceNowEmulator) -> None:
    anonymous = Api(emulator.url)
    anonymous.session.auth = None
    assert anonymous.post("/api/now/v1/batch", json={"rest_requests": []}).status_code == 401
    assert api.post("/api/now/v1/batch", json={"batch_request_id": "x"}).status_code == 400


def test_batch_items_run_as_the_caller(readonly_api: Api) -> None:
    payload = {"rest_requests": [_item("1", "POST", "/api/now/table/incident", {"short_description": "no"})]}
    served = readonly_api.post("/api/now/v1/batch", json=payload).json()["serviced_requests"]
    assert served[0]["status_code"] == 403


def _creates(count: int, **fields: str) -> list[dict[str, object]]:
    return [
        _item(str(i), "POST", "/api/now/table/incident", {"short_description": f"item {i}", **fields})
        for i in range(count)
    ]


def test_batch_past_its_limit_answers_the_rest_as_unserviced(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: "When a batch request reaches a size or processing limit, the system cancels the transaction
    # and returns unprocessed requests" in unserviced_requests (the ids of the items not run)
    emulator.set_faults(batch_limit=2)
    body = api.post("/api/now/v1/batch", json={"batch_request_id": "b", "rest_requests": _creates(5)}).json()
    assert [item["id"] for item in body["serviced_requests"]] == ["0", "1"]
    assert body["unserviced_requests"] == ["2", "3", "4"]
    assert sorted(r["short_description"] for r in emulator.state.records("incident")) == ["item 0", "item 1"]


def test_batch_past_its_time_budget_runs_nothing_more(api: Api, emulator: ServiceNowEmulator) -> None:
    emulator.set_faults(batch_time_budget=0)
    body = api.post("/api/now/v1/batch", json={"rest_requests": _creates(3)}).json()
    assert body["serviced_requests"] == [] and body["unserviced_requests"] == ["0", "1", "2"]
    assert emulator.state.records("incident") == []


def test_a_planted_failure_fails_its_batch_item_alone_and_a_direct_write_too(
    api: Api, emulator: ServiceNowEmulator
) -> None:
    emulator.set_faults(fail_matching="boom", fail_status=503)
    items = [*_creates(2), _item("bad", "POST", "/api/now/table/incident", {"short_description": "boom"})]
    served = {
        s["id"]: s for s in api.post("/api/now/v1/batch", json={"rest_requests": items}).json()["serviced_requests"]
    }
    assert served["0"]["status_code"] == 201 and served["1"]["status_code"] == 201
    assert served["bad"]["status_code"] == 503 and served["bad"]["error_message"] == "Operation Failed"
    assert len(emulator.state.records("incident")) == 2
    assert api.post("/api/now/table/incident", json={"short_description": "boom"}).status_code == 503


def test_batch_items_draw_faults_of_their_own(api: Api, emulator: ServiceNowEmulator) -> None:
    """A drawn 500/503 answers that item only; a drawn stall cuts the batch short (the rest are unserviced).
    Every item is accounted for exactly once."""
    emulator.set_faults(fault_rate=0.3, fault_kinds="500,503,stall", stall_seconds=0.1, seed=4)
    outcomes: dict[str, int] = {}
    for n in range(10):
        items = [_item(f"{n}-{i}", "GET", "/api/now/table/incident?sysparm_limit=1") for i in range(20)]
        try:
            response = api.post("/api/now/v1/batch", json={"rest_requests": items})
        except requests.ConnectionError:
            continue  # the batch call itself drew a stall
        if response.status_code != 200:
            continue  # the batch call itself drew the fault
        body = response.json()
        ids = [s["id"] for s in body["serviced_requests"]] + body["unserviced_requests"]
        assert ids == [item["id"] for item in items]
        outcomes.update({s["id"]: s["status_code"] for s in body["serviced_requests"]})
        outcomes.update(dict.fromkeys(body["unserviced_requests"], 0))
    assert {200, 500, 503, 0} <= set(outcomes.values())
