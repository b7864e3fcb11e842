"""OAuth token endpoint: password, refresh_token and client_credentials grants, bearer tokens, expiry."""

from __future__ import annotations

import requests

from bridge_emulators.servicenow import ServiceNowEmulator
from tests.support.clock import StepClock

CLIENT = {"client_id": "bridge", "client_secret": "bridge-secret"}


def _token(url: str, **form: str) -> requests.Response:
    return requests.post(f"{url}/oauth_token.do", data={**CLIENT, **form}, timeout=10)


def _incidents(url: str, token: str) -> requests.Response:
    return requests.get(f"{url}/api/now/table/incident", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_password_grant_token_works_as_bearer(emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-api-explorer/r_RESTOAuthExample.md (form-encoded request,
    # scope/token_type/expires_in/refresh_token/access_token answer, Bearer header)
    response = _token(emulator.url, grant_type="password", username="admin", password="admin")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "useraccount"
    assert body["expires_in"] == 1799
    assert body["access_token"] and body["refresh_token"]
    listed = _incidents(emulator.url, body["access_token"])
    assert listed.status_code == 200
    created = requests.post(
        f"{emulator.url}/api/now/table/incident",
        json={"short_description": "via oauth"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert created.json()["result"]["sys_created_by"] == "admin"


def test_bad_credentials_are_refused(emulator: ServiceNowEmulator) -> None:
    denied = {"error_description": "access_denied", "error": "server_error"}
    wrong_user = _token(emulator.url, grant_type="password", username="admin", password="nope")
    assert (wrong_user.status_code, wrong_user.json()) == (401, denied)
    wrong_secret = requests.post(
        f"{emulator.url}/oauth_token.do",
        data={"grant_type": "client_credentials", "client_id": "bridge", "client_secret": "x"},
        timeout=10,
    )
    assert wrong_secret.status_code == 401
    assert _token(emulator.url, grant_type="implicit").status_code == 400
    assert _incidents(emulator.url, "not-a-token").status_code == 401


def test_client_credentials_grant(emulator: ServiceNowEmulator) -> None:
    body = _token(emulator.url, grant_type="client_credentials").json()
    assert "refresh_token" not in body
    assert _incidents(emulator.url, body["access_token"]).status_code == 200


def test_client_credentials_in_basic_header(emulator: ServiceNowEmulator) -> None:
    response = requests.post(
        f"{emulator.url}/oauth_token.do",
        data={"grant_type": "client_credentials"},
        auth=("bridge", "bridge-secret"),
        timeout=10,
    )
    assert response.status_code == 200


def test_access_token_expires_and_refresh_token_renews_it() -> None:
    clock = StepClock(1_700_000_000.0)  # token lifetimes run on this clock; the test steps it
    with ServiceNowEmulator(access_token_lifetime=30, refresh_token_lifetime=60, clock=clock) as emu:
        first = _token(emu.url, grant_type="password", username="itil_readonly", password="readonly").json()
        clock.advance(29.9)
        assert _incidents(emu.url, first["access_token"]).status_code == 200
        clock.advance(0.2)
        expired = _incidents(emu.url, first["access_token"])
        assert expired.status_code == 401
        assert expired.json()["error"]["message"] == "User Not Authenticated"
        renewed = _token(emu.url, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
        assert _incidents(emu.url, renewed["access_token"]).status_code == 200
        readonly_write = requests.post(
            f"{emu.url}/api/now/table/incident",
            json={},
            headers={"Authorization": f"Bearer {renewed['access_token']}"},
            timeout=10,
        )
        assert readonly_write.status_code == 403


def test_refresh_token_expires() -> None:
    clock = StepClock(1_700_000_000.0)
    with ServiceNowEmulator(refresh_token_lifetime=30, clock=clock) as emu:
        first = _token(emu.url, grant_type="password", username="admin", password="admin").json()
        clock.advance(29.9)
        assert _token(emu.url, grant_type="refresh_token", refresh_token=first["refresh_token"]).status_code == 200
        clock.advance(0.2)
        again = _token(emu.url, grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert again.status_code == 401
