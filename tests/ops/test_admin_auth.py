"""The admin surface's gate: disabled without tokens, bearer tokens, login/logout sessions, CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.runtime import Runtime
from bridge.server.admin.auth import COOKIE, AdminAuth
from bridge_emulators.http_target import CountingTarget
from tests.ops.support import ADMIN_TOKEN, admin_app, ops_runtime


@pytest.fixture
def runtime(tmp_path: Path, sqlite_url: str) -> Iterator[Runtime]:
    with CountingTarget() as target:
        rt = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        try:
            yield rt
        finally:
            rt.stop()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(admin_app(runtime), follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def login(client: TestClient, token: str = ADMIN_TOKEN) -> str:
    """Sign in through the form; returns the session's CSRF token (from the next page)."""
    form = client.get("/admin/login")
    response = client.post("/admin/login", data={"token": token, "csrf": _csrf(form.text)})
    assert response.status_code == 303 and response.headers["location"] == "/admin", response.text
    return _csrf(client.get("/admin").text)


def test_disabled_without_tokens_answers_404(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        rt = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url, admin_tokens=[])
        try:
            client = TestClient(admin_app(rt))
            paths = ("/admin", "/admin/login", "/admin/api/routes", "/admin/dead-letters", "/admin/static/admin.css")
            for path in paths:
                assert client.get(path, headers={"Authorization": "Bearer x"}).status_code == 404, path
            assert client.post("/admin/api/dead-letters/1/retry").status_code == 404
            assert "/admin/api/routes" not in client.get("/openapi.json").json()["paths"]
        finally:
            rt.stop()


def test_api_needs_a_token(client: TestClient) -> None:
    missing = client.get("/admin/api/routes")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/admin/api/routes", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/api/routes/fwd/pause", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert client.get("/admin/api/routes", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    page = client.get("/admin/dead-letters")
    assert page.status_code == 303 and page.headers["location"] == "/admin/login"


def test_login_sets_a_signed_session_cookie_not_the_token(client: TestClient) -> None:
    form = client.get("/admin/login")
    assert form.status_code == 200 and "frame-ancestors 'none'" in form.headers["content-security-policy"]
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf": _csrf(form.text)})
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert ADMIN_TOKEN not in cookie
    overview = client.get("/admin")
    assert overview.status_code == 200 and "fwd" in overview.text and "signed in" in overview.text
    assert client.get("/admin/api/routes").status_code == 200  # the session works for the API's reads too


def test_login_refuses_a_wrong_token_and_a_form_without_its_nonce(client: TestClient) -> None:
    form = client.get("/admin/login")
    wrong = client.post("/admin/login", data={"token": "guess", "csrf": _csrf(form.text)})
    assert wrong.status_code == 401 and "not an admin token" in wrong.text
    client.cookies.clear()
    forged = client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf": "made-up"})
    assert forged.status_code == 403 and COOKIE not in forged.cookies


def test_writes_without_the_csrf_token_are_refused(client: TestClient) -> None:
    csrf = login(client)
    assert client.post("/admin/routes/fwd/pause", data={}).status_code == 403
    assert client.post("/admin/routes/fwd/pause", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/admin/api/routes/fwd/pause").status_code == 403
    assert client.post("/admin/api/routes/fwd/pause", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    done = client.post("/admin/routes/fwd/pause", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/admin"
    assert "route fwd paused" in client.get("/admin").text
    api = client.post("/admin/api/routes/fwd/resume", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200 and api.json()["was_paused"] is True


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client)
    old = client.cookies.get(COOKIE)
    assert client.post("/admin/logout", data={"csrf": csrf}).headers["location"] == "/admin/login"
    assert client.get("/admin").status_code == 303
    client.cookies.set(COOKIE, old or "", path="/admin")
    assert client.get("/admin").status_code == 303, "a logged-out session cookie must not work again"


def test_removing_a_token_ends_its_sessions() -> None:
    cookie, _session = AdminAuth([("ann", "first"), ("ben", "second")]).open_session("first")
    assert AdminAuth([("ann", "first")]).session(cookie) is not None, "sessions survive a restart"
    assert AdminAuth([("ben", "second")]).session(cookie) is None
    # tamper inside the signature: its last base64 character carries padding bits, so rewriting the tail could
    # leave the decoded signature unchanged (about 1 run in 1,000), while a middle character always changes it
    i = len(cookie) - 6
    tampered = cookie[:i] + ("A" if cookie[i] != "A" else "B") + cookie[i + 1 :]
    assert AdminAuth([("ann", "first")]).session(tampered) is None
