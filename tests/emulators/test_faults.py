"""Fault injection (latency, rate limit, failure mix, dropped connections, stalls, hibernation) and the
admin endpoints that steer it at run time."""

from __future__ import annotations

import base64
import socket
from collections import Counter

import pytest
import requests
from sn_helpers import Api

from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import FaultConfig, ServiceNowEmulator
from tests.support.clock import StepClock
from tests.support.waiting import wait_for

INCIDENT = "/api/now/table/incident"


def test_latency_is_added_to_api_calls_only() -> None:
    with ServiceNowEmulator(latency_ms=200) as emu:
        api = Api(emu.url)
        assert api.get(INCIDENT).status_code == 200
        assert emu.stats()["latency"] == {"requests": 1, "ms": 200}, "the API call was held back 200 ms"
        assert requests.get(f"{emu.url}/emulator/admin/health", timeout=5).status_code == 200
        stats = requests.get(f"{emu.url}/emulator/admin/stats", timeout=5).json()
        assert stats["latency"] == {"requests": 1, "ms": 200}, "admin endpoints are never delayed"
        emu.set_faults(latency_ms=0)
        assert api.get(INCIDENT).status_code == 200
        assert emu.stats()["latency"] == {"requests": 1, "ms": 200}, "no latency knob, no delay"


def test_rate_limit_answers_429_with_headers() -> None:
    # Documented: markdown/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.md (429, Retry-After,
    # X-RateLimit-Limit, X-RateLimit-Reset, X-RateLimit-Rule, "Rate limit exceeded" envelope)
    clock = StepClock(1_700_000_000.0)  # the windows are whole seconds of this clock; the test steps it
    with ServiceNowEmulator(rate_limit=5, clock=clock) as emu:
        api, other = Api(emu.url), Api(emu.url, "itil_readonly", "readonly")
        responses = [api.get(INCIDENT) for _ in range(12)]
        assert [r.status_code for r in responses] == [200] * 5 + [429] * 7, "5 a second, all in one second"
        limited = responses[5:]
        refused = limited[0]
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["X-RateLimit-Limit"] == "5"
        assert refused.headers["X-RateLimit-Reset"] == "1700000001", "the next whole second"
        assert "X-RateLimit-Rule" in refused.headers
        assert refused.json()["error"]["message"] == "Rate limit exceeded"
        assert refused.json()["status"] == "failure"
        assert "X-RateLimit-Limit" in responses[0].headers
        assert other.get(INCIDENT).status_code == 200
        assert api.get(INCIDENT).status_code == 429, "still limited within the window"
        clock.advance(float(refused.headers["Retry-After"]))
        assert api.get(INCIDENT).status_code == 200
        assert emu.stats()["faults"]["rate_limited"] == len(limited) + 1


def _statuses(url: str, count: int) -> list[int]:
    api = Api(url)
    return [api.get(INCIDENT, params={"sysparm_limit": 1}).status_code for _ in range(count)]


def test_fault_mix_is_seeded_and_near_the_rate() -> None:
    settings = {"fault_rate": 0.5, "fault_kinds": ("500", "503"), "seed": 42}
    with ServiceNowEmulator(**settings) as first, ServiceNowEmulator(**settings) as second:  # type: ignore[arg-type]
        statuses = _statuses(first.url, 200)
        assert statuses == _statuses(second.url, 200)
    counts = Counter(statuses)
    assert set(counts) == {200, 500, 503}
    assert 70 <= counts[500] + counts[503] <= 130


def test_failed_requests_use_the_error_envelope() -> None:
    with ServiceNowEmulator(fault_rate=1.0, fault_kinds=("503",)) as emu:
        response = Api(emu.url).get(INCIDENT)
        assert response.status_code == 503
        assert response.json()["status"] == "failure"
        assert emu.stats()["faults"] == {"503": 1}


def test_dropped_connection_raises_connection_error() -> None:
    with ServiceNowEmulator(fault_rate=1.0, fault_kinds=("drop",)) as emu:
        api = Api(emu.url)
        with pytest.raises(requests.ConnectionError):
            api.get(INCIDENT)
        emu.set_faults(fault_rate=0.0)
        assert api.get(INCIDENT).status_code == 200
        assert emu.stats()["by_status"]["dropped"] == 1


def test_stall_outlasts_the_client_timeout_and_stop_wakes_it() -> None:
    with ServiceNowEmulator(fault_rate=1.0, fault_kinds=("stall",), stall_seconds=3600) as emu:
        with pytest.raises(requests.Timeout):
            requests.get(f"{emu.url}{INCIDENT}", auth=("admin", "admin"), timeout=0.5)
        assert emu.stats()["faults"] == {"stall": 1}
        assert "stalled" not in emu.stats()["by_status"], "still holding the connection after the client gave up"
    # leaving the block stopped the emulator: the stalled thread is woken (not left for the hour) and ends
    wait_for(lambda: emu.stats()["by_status"] == {"stalled": 1}, timeout=30)


def test_hibernating_instance_answers_html_200() -> None:
    with ServiceNowEmulator(hibernate=True) as emu:
        response = Api(emu.url).get(INCIDENT)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "hibernating" in response.text.lower()
        anonymous = requests.post(f"{emu.url}/oauth_token.do", data={}, timeout=5)
        assert anonymous.headers["Content-Type"].startswith("text/html")


def test_admin_faults_endpoint_changes_settings(emulator: ServiceNowEmulator, api: Api) -> None:
    admin = f"{emulator.url}/emulator/admin/faults"
    changed = requests.post(admin, json={"hibernate": True, "latency_ms": 5}, timeout=5)
    assert changed.status_code == 200
    assert changed.json()["hibernate"] is True
    assert "hibernating" in api.get(INCIDENT).text.lower()
    requests.post(admin, json={"hibernate": False}, timeout=5)
    assert api.get(INCIDENT).status_code == 200
    assert requests.get(admin, timeout=5).json()["latency_ms"] == 5
    assert requests.post(admin, json={"fault_kinds": ["fire"]}, timeout=5).status_code == 400
    assert requests.post(admin, json={"no_such_knob": 1}, timeout=5).status_code == 400
    assert emulator.faults.hibernate is False


def test_admin_stats_and_reset(emulator: ServiceNowEmulator, api: Api) -> None:
    api.create("incident", {})
    api.get(INCIDENT)
    api.get("/api/now/table/sys_user")
    stats = requests.get(f"{emulator.url}/emulator/admin/stats", timeout=5).json()
    assert stats["requests_total"] == 3
    assert stats["by_method"] == {"POST": 1, "GET": 2}
    assert stats["by_table"] == {"incident": 2, "sys_user": 1}
    assert stats["by_method_table"]["POST incident"] == 1
    assert stats["by_status"] == {"201": 1, "200": 2}
    assert requests.post(f"{emulator.url}/emulator/admin/reset", timeout=5).status_code == 200
    assert api.get(INCIDENT).json()["result"] == []
    assert emulator.stats()["requests_total"] == 1
    assert api.get("/api/now/table/sys_user", params={"user_name": "admin"}).json()["result"]
    requests.delete(f"{emulator.url}/emulator/admin/stats", timeout=5)
    assert emulator.stats()["requests_total"] == 0


def test_fault_config_validates() -> None:
    with pytest.raises(ValueError):
        FaultConfig(fault_rate=2)
    with pytest.raises(ValueError):
        FaultConfig(fault_kinds=("500", "teapot"))
    assert FaultConfig().updated({"fault_kinds": "drop,stall"}).fault_kinds == ("drop", "stall")


def _cut_short(url: str, path: str, *, sent: int, headers: str = "") -> bytes:
    """Send a POST whose body stops half-way (the sender was killed), then read whatever comes back."""
    host, port = url.removeprefix("http://").split(":")
    body = b'{"short_description": "never whole"}'
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + body[:sent])
        sock.shutdown(socket.SHUT_WR)
        return sock.recv(4096)


@pytest.mark.parametrize("sent", [0, 10])
def test_a_request_cut_short_takes_no_effect(sent: int) -> None:
    """A client killed between the headers and the end of its body must not leave a half-made record
    (an empty incident, as an early emulator did under the chaos test's kill -9)."""
    auth = "Authorization: Basic " + base64.b64encode(b"admin:admin").decode() + "\r\n"
    with ServiceNowEmulator() as emu:
        assert _cut_short(emu.url, "/api/now/table/incident", sent=sent, headers=auth) == b""
        assert emu.state.records("incident") == []


@pytest.mark.parametrize("sent", [0, 10])
def test_counting_target_applies_nothing_from_a_request_cut_short(sent: int) -> None:
    """urllib3 sends the headers and the body in two writes, so a killed sender may leave headers only."""
    with CountingTarget() as target:
        assert _cut_short(target.url, "/apply", sent=sent, headers="Idempotency-Key: k1\r\n") == b""
        assert target.state.applied == [] and target.state.keys == set()
