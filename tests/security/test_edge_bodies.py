"""Issue 15 against a running daemon: "Unauthenticated requests that cost the bridge dearly" (credentials and
size before the body) and "5xx where a 4xx belongs" (the JSON door, signatures, route names)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.security.daemon import (
    ADMIN_TOKEN,
    AZURE_TOKEN,
    FORWARD_TOKEN,
    Daemon,
    config,
    read_response,
    running,
    sign_jira,
    sign_servicenow,
)

ALERT = json.loads((Path(__file__).resolve().parents[1] / "fixtures/azure/common_metric_static_fired.json").read_text())
PUSH = {"table": "incident", "sys_id": "a" * 32, "sys_mod_count": "1", "sys_updated_on": "2026-01-01 10:00:00"}
JIRA = {
    "webhookEvent": "jira:issue_updated",
    "issue": {"key": "MHHS-1", "fields": {"updated": "2026-01-01T10:00:00.000+0000"}},
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("edge-bodies")
    with (
        CountingTarget() as sink,
        ServiceNowEmulator() as emulator,
        running(config(tmp, sink_url=sink.url, servicenow_url=emulator.url)) as bridge,
    ):
        yield bridge


def _post(daemon: Daemon, hook: str, body: bytes) -> requests.Response:
    """Post ``body`` to one of the four webhooks with valid credentials (signed where the hook signs)."""
    url, headers = {
        "forward": (f"{daemon.url}/webhooks/forward/fwd", {"Authorization": f"Bearer {FORWARD_TOKEN}"}),
        "azure": (f"{daemon.url}/webhooks/azure-monitor?token={AZURE_TOKEN}", {}),
        "servicenow": (f"{daemon.url}/webhooks/servicenow?route=push", {"X-Bridge-Signature": sign_servicenow(body)}),
        "jira": (f"{daemon.url}/webhooks/jira?route=jira", {"X-Hub-Signature": sign_jira(body)}),
    }[hook]
    return requests.post(url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=30)


VALID: dict[str, Any] = {"forward": {"record": "r1", "n": 1}, "azure": ALERT, "servicenow": PUSH, "jira": JIRA}
HOOKS = list(VALID)


# --- credentials and size before the body -----------------------------------------------------------------


def test_an_unauthenticated_admin_body_is_refused_before_it_is_sent(daemon: Daemon) -> None:
    """`POST /admin/api/preview` parsed a whole body before checking credentials (100 MiB: +860 MB)."""
    sock = daemon.raw()
    sock.sendall(
        b"POST /admin/api/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 900000\r\n\r\n"
    )  # the headers only: the answer must come without the body
    status, data = read_response(sock)
    sock.close()
    assert status == 401 and b"admin token required" in data


def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_sent(daemon: Daemon) -> None:
    for path in ("/admin/api/preview", "/webhooks/forward/fwd", "/webhooks/azure-monitor", "/admin/login"):
        sock = daemon.raw()
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        sock.sendall(head.encode() + b"Content-Length: 104857600\r\n\r\n")
        status, data = read_response(sock)
        sock.close()
        assert status == 413 and b"connection: close" in data.lower(), path


def test_a_chunked_body_is_cut_off_at_the_limit(daemon: Daemon) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"record": "big", "x": "'
        for _ in range(40):
            yield b"a" * 65536

    answer = requests.post(
        f"{daemon.url}/webhooks/forward/fwd",
        data=chunks(),
        headers={"Authorization": f"Bearer {FORWARD_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 413


def test_the_admin_api_with_a_token_still_works(daemon: Daemon) -> None:
    answer = requests.post(
        f"{daemon.url}/admin/api/preview",
        json={"route": "azure", "alert": ALERT},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


# --- the JSON door, on all four webhooks --------------------------------------------------------------------


def _with_value(hook: str, fragment: bytes) -> bytes:
    """The hook's valid body with one more member written as raw JSON: the defect is all that is wrong with it."""
    return json.dumps(VALID[hook]).encode()[:-1] + b', "value": ' + fragment + b"}"


BAD_BODIES: dict[str, Callable[[str], bytes]] = {
    "nested 100,000 deep": lambda hook: b"[" * 100_000,
    "nested 65 deep": lambda hook: _with_value(hook, b"[" * 65 + b"]" * 65),
    "UTF-16": lambda hook: json.dumps(VALID[hook]).encode("utf-16"),
    "UTF-16 without a BOM": lambda hook: json.dumps(VALID[hook]).encode("utf-16-le"),
    "NaN": lambda hook: _with_value(hook, b"NaN"),
    "Infinity": lambda hook: _with_value(hook, b"-Infinity"),
    "a float too large": lambda hook: _with_value(hook, b"1e999"),
    "an integer too long": lambda hook: _with_value(hook, b"9" * 5000),
    "a lone surrogate": lambda hook: _with_value(hook, b'"\\ud800"'),
    "not UTF-8": lambda hook: _with_value(hook, b'"caf\xe9"'),
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_encodings_get_a_400_that_says_why_and_nothing_is_stored(daemon: Daemon, hook: str, name: str) -> None:
    before = daemon.stored_events()
    answer = _post(daemon, hook, BAD_BODIES[name](hook))
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.json()["detail"]["error"]
    assert daemon.stored_events() == before


@pytest.mark.parametrize("hook", HOOKS)
def test_a_utf8_bom_is_accepted_and_the_event_is_processed(daemon: Daemon, hook: str) -> None:
    body = dict(VALID[hook])
    if hook == "forward":
        body["record"] = "bom"
    elif hook == "servicenow":
        body["sys_id"] = "b" * 32
    elif hook == "jira":
        body = {**body, "issue": {**body["issue"], "key": "MHHS-BOM"}}
    elif hook == "azure":
        body = json.loads(json.dumps(body))
        body["data"]["essentials"]["alertId"] += "-bom"
    answer = _post(daemon, hook, b"\xef\xbb\xbf" + json.dumps(body).encode())
    assert answer.status_code == 202, answer.text
    assert _settled(daemon, answer.json()["event_id"]) == "done", "no 202-then-dead-letter"


def _settled(daemon: Daemon, event_id: int) -> str:
    """The event's status once the processor has handled it (it is pending until then)."""
    status = "pending"
    for _ in range(600):
        events = requests.get(
            f"{daemon.url}/admin/api/events",
            params={"limit": 500},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        ).json()
        status = next(e["status"] for e in events if e["id"] == event_id)
        if status != "pending":
            break
        time.sleep(0.05)
    return status


def test_a_non_ascii_signature_is_a_401_not_a_500(daemon: Daemon) -> None:
    body = json.dumps(PUSH).encode()
    for path, header in (
        ("/webhooks/servicenow?route=push", "X-Bridge-Signature"),
        ("/webhooks/jira?route=jira", "X-Hub-Signature"),
    ):
        sock = daemon.raw()
        head = (
            (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
                f"Content-Length: {len(body)}\r\n"
            ).encode()
            + header.encode()
            + b": sha256=\xc3\xa9\xe2\x82\xac\r\n\r\n"
        )
        sock.sendall(head + body)
        status, _data = read_response(sock)
        sock.close()
        assert status == 401, path


# --- route names only for those who may know them ----------------------------------------------------------------


def test_route_names_cannot_be_probed_without_credentials(daemon: Daemon) -> None:
    wrong_fwd = requests.post(
        f"{daemon.url}/webhooks/forward/fwd", json={}, headers={"Authorization": "Bearer x"}, timeout=30
    )
    unknown_fwd = requests.post(
        f"{daemon.url}/webhooks/forward/nope", json={}, headers={"Authorization": "Bearer x"}, timeout=30
    )
    assert (
        (wrong_fwd.status_code, wrong_fwd.json())
        == (unknown_fwd.status_code, unknown_fwd.json())
        == (401, {"detail": {"error": "missing or wrong token"}})
    )
    body = json.dumps(PUSH).encode()
    unknown_push = requests.post(
        f"{daemon.url}/webhooks/servicenow?route=nope",
        data=body,
        headers={"X-Bridge-Signature": sign_servicenow(body)},
        timeout=30,
    )
    assert unknown_push.status_code == 401 and "nope" not in unknown_push.text
    unknown_jira = requests.post(
        f"{daemon.url}/webhooks/jira?route=nope", data=body, headers={"X-Hub-Signature": sign_jira(body)}, timeout=30
    )
    assert unknown_jira.status_code == 401 and "nope" not in unknown_jira.text
    azure_stranger = requests.post(f"{daemon.url}/webhooks/azure-monitor?route=nope&token=x", json=ALERT, timeout=30)
    assert azure_stranger.status_code == 401 and "nope" not in azure_stranger.text
    azure_known = requests.post(
        f"{daemon.url}/webhooks/azure-monitor?route=nope&token={AZURE_TOKEN}", json=ALERT, timeout=30
    )
    assert azure_known.status_code == 404, "told only to a caller with the token"
