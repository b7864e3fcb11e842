"""ServiceNow adapter: settings, from_config, and every write's request shape (one call each)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bridge.adapters.base import Adapter, Operation
from bridge.adapters.servicenow import ServiceNowAdapter, Settings, from_config
from bridge.errors import ConfigError, PermanentError

BASE = "https://mhhs.example.service-now.com"
SYS_ID = "0123456789abcdef0123456789abcdef"
pytestmark = pytest.mark.timeout(30)
RECORD = {"sys_id": SYS_ID, "sys_mod_count": "3", "number": "INC0010001", "sys_updated_on": "2024-05-01 10:00:00"}


def make_adapter(**overrides: Any) -> ServiceNowAdapter:
    raw = {
        "instance_url": BASE,
        "auth": {"type": "basic", "username": "bridge", "password": "pw-s3cret"},
        "requests_per_second": 1000,
        "burst": 1000,
        **overrides,
    }
    return ServiceNowAdapter("sn-writes", Settings.model_validate(raw), session=requests.Session())


def op(action: str, payload: dict[str, Any], target_id: str | None = None) -> Operation:
    return Operation(1, "route", "sn", "key", action, payload, "idem-1", target_id=target_id)


def body_of(call: Any) -> Any:
    return json.loads(call.request.body or b"")


def query_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- settings ------------------------------------------------------------------------------------------


def test_settings_defaults_and_normalised_url() -> None:
    settings = Settings.model_validate(
        {
            "instance_url": "https://x.service-now.com/",
            "auth": {"type": "basic", "username": "u", "password": "hunter2"},
        }
    )
    assert settings.instance_url == "https://x.service-now.com"
    assert settings.page_size == 500
    assert (settings.timeout.connect, settings.timeout.read) == (5.0, 60.0)
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://mhhs.service-now.com",  # plain http off loopback
        "ftp://localhost",
        "https://user:pw@x.service-now.com",  # credentials in the URL
        "https://x.service-now.com/api/now",  # a path
        "not a url",
    ],
)
def test_settings_rejects_unsafe_instance_urls(url: str) -> None:
    with pytest.raises(ValueError, match="instance_url"):
        Settings.model_validate({"instance_url": url, "auth": {"type": "basic", "username": "u", "password": "p"}})


@pytest.mark.parametrize("host", ["http://localhost:8080", "http://127.0.0.1:49152"])
def test_settings_allows_http_on_loopback(host: str) -> None:
    settings = Settings.model_validate(
        {"instance_url": host, "auth": {"type": "basic", "username": "u", "password": "p"}}
    )
    assert settings.instance_url == host


def test_settings_forbid_unknown_keys_and_verify_flag() -> None:
    with pytest.raises(ValueError, match="verify"):
        Settings.model_validate(
            {"instance_url": BASE, "verify": False, "auth": {"type": "basic", "username": "u", "password": "p"}}
        )


def test_oauth_grant_follows_credentials() -> None:
    def grant(**auth: Any) -> str:
        s = Settings.model_validate({"instance_url": BASE, "auth": {"type": "oauth", "client_id": "c", **auth}})
        return s.auth.grant  # type: ignore[union-attr]

    assert grant(client_secret="s", username="u", password="p") == "password"
    assert grant(client_secret="s", refresh_token="r") == "refresh_token"
    assert grant(client_secret="s") == "client_credentials"
    with pytest.raises(ValueError, match="together"):
        grant(client_secret="s", username="u")


def test_from_config_reports_every_problem_with_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        from_config("desk", {"instance_url": "http://prod.example.com", "auth": {"type": "basic"}, "page_size": 0})
    problems = "\n".join(info.value.problems)
    assert "desk.instance_url" in problems
    assert "desk.auth.basic.username" in problems
    assert "desk.page_size" in problems


def test_from_config_builds_an_adapter_that_speaks_the_protocol() -> None:
    adapter = from_config("desk", {"instance_url": BASE, "auth": {"type": "basic", "username": "u", "password": "p"}})
    assert isinstance(adapter, Adapter)
    assert adapter.name == "desk"
    adapter.close()


# -- writes --------------------------------------------------------------------------------------------


def test_create_is_one_post_with_fields_and_returns_id_version_number(rsps: responses.RequestsMock) -> None:
    rsps.post(f"{BASE}/api/now/table/incident", json={"result": RECORD}, status=201)
    result = make_adapter().deliver(op("create", {"table": "incident", "fields": {"short_description": "DIP down"}}))
    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert body_of(call) == {"short_description": "DIP down"}
    assert query_of(call)["sysparm_fields"] == ["sys_id,sys_mod_count,number,sys_updated_on"]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert result.target_id == SYS_ID
    assert result.version == "3"
    assert result.detail == {"number": "INC0010001", "sys_updated_on": "2024-05-01 10:00:00"}


def test_write_requests_carry_no_paging_parameters(rsps: responses.RequestsMock) -> None:
    rsps.post(f"{BASE}/api/now/table/incident", json={"result": RECORD}, status=201)
    make_adapter().deliver(op("create", {"table": "incident", "fields": {"state": "2"}}))
    params = query_of(rsps.calls[0])
    assert not {"sysparm_query", "sysparm_limit", "sysparm_offset"} & params.keys()
    assert params["sysparm_exclude_reference_link"] == ["true"]


def test_update_is_one_patch_on_the_target(rsps: responses.RequestsMock) -> None:
    rsps.patch(f"{BASE}/api/now/table/incident/{SYS_ID}", json={"result": RECORD})
    result = make_adapter().deliver(op("update", {"table": "incident", "fields": {"state": "6"}}, SYS_ID))
    assert [c.request.method for c in rsps.calls] == ["PATCH"]
    assert body_of(rsps.calls[0]) == {"state": "6"}
    assert result.version == "3"


def test_update_without_target_is_permanent_before_any_call(rsps: responses.RequestsMock) -> None:
    with pytest.raises(PermanentError, match="target"):
        make_adapter().deliver(op("update", {"table": "incident", "fields": {"state": "6"}}))
    assert len(rsps.calls) == 0


def test_upsert_with_target_patches_without_reading_first(rsps: responses.RequestsMock) -> None:
    rsps.patch(f"{BASE}/api/now/table/incident/{SYS_ID}", json={"result": RECORD})
    make_adapter().deliver(op("upsert", {"table": "incident", "fields": {"state": "2"}}, SYS_ID))
    assert [c.request.method for c in rsps.calls] == ["PATCH"]


def test_upsert_without_target_creates_without_reading_first(rsps: responses.RequestsMock) -> None:
    rsps.post(f"{BASE}/api/now/table/incident", json={"result": RECORD}, status=201)
    make_adapter().deliver(op("upsert", {"table": "incident", "fields": {"state": "1"}}))
    assert [c.request.method for c in rsps.calls] == ["POST"]


@pytest.mark.parametrize(("action", "column"), [("comment", "comments"), ("work_note", "work_notes")])
def test_journal_writes_are_one_patch_of_the_journal_field(
    rsps: responses.RequestsMock, action: str, column: str
) -> None:
    rsps.patch(f"{BASE}/api/now/table/sn_customerservice_case/{SYS_ID}", json={"result": RECORD})
    payload = {"table": "sn_customerservice_case", "text": "Partner says: fixed"}
    make_adapter().deliver(op(action, payload, SYS_ID))
    assert len(rsps.calls) == 1
    assert body_of(rsps.calls[0]) == {column: "Partner says: fixed"}


def test_attach_is_one_upload_with_raw_bytes(rsps: responses.RequestsMock) -> None:
    attachment = {"sys_id": "f" * 32, "file_name": "log.txt", "size_bytes": "5", "table_sys_id": SYS_ID}
    rsps.post(f"{BASE}/api/now/attachment/file", json={"result": attachment}, status=201)
    payload = {
        "table": "incident",
        "file_name": "log.txt",
        "content_type": "text/plain",
        "content_b64": base64.b64encode(b"hello").decode(),
    }
    result = make_adapter().deliver(op("attach", payload, SYS_ID))
    call = rsps.calls[0]
    assert len(rsps.calls) == 1
    assert call.request.body == b"hello"
    assert call.request.headers["Content-Type"] == "text/plain"
    assert query_of(call) == {"table_name": ["incident"], "table_sys_id": [SYS_ID], "file_name": ["log.txt"]}
    assert result.target_id == "f" * 32
    assert result.detail["size_bytes"] == "5"


@pytest.mark.parametrize(
    ("action", "payload", "target", "message"),
    [
        ("delete", {"table": "incident"}, SYS_ID, "does not offer 'delete'"),
        ("frobnicate", {"table": "incident"}, SYS_ID, "does not offer"),
        ("create", {"fields": {"a": "b"}}, None, "invalid table"),
        ("create", {"table": "incident; drop", "fields": {"a": "b"}}, None, "invalid table"),
        ("create", {"table": "incident", "fields": {}}, None, "non-empty mapping"),
        ("create", {"table": "incident", "fields": {"Bad Field": 1}}, None, "invalid field"),
        ("update", {"table": "incident", "fields": {"a": "b"}}, "../../sys_user", "invalid sys_id"),
        ("comment", {"table": "incident", "text": "  "}, SYS_ID, "non-empty text"),
        ("attach", {"table": "incident", "file_name": "a", "content_b64": "***"}, SYS_ID, "base64"),
        ("attach", {"table": "incident", "file_name": "", "content_b64": ""}, SYS_ID, "file_name"),
        ("attach", {"table": "incident", "file_name": "a", "content_type": "x", "content_b64": ""}, SYS_ID, "type"),
    ],
)
def test_bad_operations_are_permanent_before_any_call(
    rsps: responses.RequestsMock, action: str, payload: dict[str, Any], target: str | None, message: str
) -> None:
    with pytest.raises(PermanentError, match=message):
        make_adapter().deliver(op(action, payload, target))
    assert len(rsps.calls) == 0


def test_a_404_on_update_is_permanent_with_servicenow_message(rsps: responses.RequestsMock) -> None:
    body = {"error": {"message": "No Record found", "detail": "Record doesn't exist"}, "status": "failure"}
    rsps.patch(f"{BASE}/api/now/table/incident/{SYS_ID}", json=body, status=404)
    with pytest.raises(PermanentError) as info:
        make_adapter().deliver(op("update", {"table": "incident", "fields": {"state": "6"}}, SYS_ID))
    assert "No Record found (Record doesn't exist)" in str(info.value)
    assert info.value.status == 404
    assert "No Record found" in (info.value.body or "")


def test_close_leaves_an_injected_session_open() -> None:
    session = requests.Session()
    adapter = ServiceNowAdapter("x", make_adapter().settings, session=session)
    adapter.close()
    assert session.adapters  # still usable: the adapter did not own it


def test_the_public_surface_is_pinned() -> None:
    import bridge.adapters.servicenow as facade

    assert sorted(facade.__all__) == [
        "BasicAuth",
        "OAuthAuth",
        "STATUS_TABLE",
        "ServiceNowAdapter",
        "Settings",
        "Timeouts",
        "UnsafeQueryError",
        "from_config",
    ]
