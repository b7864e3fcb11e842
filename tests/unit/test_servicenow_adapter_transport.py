"""ServiceNow adapter transport: the classification table, Retry-After, OAuth, secrets, budget, concurrency."""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from prometheus_client import REGISTRY

from bridge.adapters.servicenow import STATUS_TABLE, ServiceNowAdapter, Settings
from bridge.adapters.servicenow.failures import retry_after
from bridge.adapters.servicenow.limits import TokenBucket
from bridge.errors import PermanentError, RateLimitedError, TransientError
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(30)

BASE = "https://mhhs.example.service-now.com"
USERS = f"{BASE}/api/now/table/sys_user"
TOKEN_URL = f"{BASE}/oauth_token.do"
OK = {"result": [{"sys_id": "0" * 32}]}
SECRETS = ("pw-Sup3rSecret", "client-S3cret", "access-AAA-1", "access-AAA-2", "refresh-RRR-1")


class FakeClock:
    """Monotonic and wall clocks that only move when told to (sleep moves them too)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall_now = 1_700_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall_now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall_now += seconds


def make_adapter(
    name: str,
    auth: dict[str, Any] | None = None,
    *,
    clock: FakeClock | None = None,
    session: requests.Session | None = None,
    **overrides: Any,
) -> ServiceNowAdapter:
    raw = {
        "instance_url": BASE,
        "auth": auth or {"type": "basic", "username": "bridge", "password": SECRETS[0]},
        "requests_per_second": 1000,
        "burst": 1000,
        **overrides,
    }
    fake = clock or FakeClock()
    return ServiceNowAdapter(
        name,
        Settings.model_validate(raw),
        session=session or requests.Session(),
        clock=fake.clock,
        wall=fake.wall,
        sleep=fake.sleep,
    )


def oauth(**extra: Any) -> dict[str, Any]:
    return {"type": "oauth", "client_id": "bridge", "client_secret": SECRETS[1], **extra}


def token(access: str, refresh: str | None = SECRETS[4], expires_in: int = 1800) -> dict[str, Any]:
    answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": expires_in}
    if refresh:
        answer["refresh_token"] = refresh
    return answer


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def sent_kwargs(call: Any) -> dict[str, Any]:
    """What the session was asked to send with (responses records it on the request)."""
    request: Any = call.request
    return dict(request.req_kwargs)


def form(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- the classification table ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "row"), sorted(STATUS_TABLE.items()))
def test_each_status_maps_to_its_error_class(rsps: responses.RequestsMock, status: int, row: Any) -> None:
    error_class, kind = row
    body = {"error": {"message": f"boom {status}", "detail": "why"}, "status": "failure"}
    rsps.get(USERS, json=body, status=status)
    name = f"classify-{status}"
    with pytest.raises(error_class) as info:
        make_adapter(name).check()
    assert type(info.value) is error_class
    assert f"boom {status} (why)" in str(info.value)
    assert info.value.status == status
    assert sample("bridge_servicenow_errors_total", {"instance": name, "kind": kind}) == 1


def test_table_covers_the_statuses_the_bridge_relies_on() -> None:
    transient = {408, 429, 500, 502, 503, 504}
    permanent = {400, 401, 403, 404, 409, 422}
    assert {s for s, (cls, _) in STATUS_TABLE.items() if issubclass(cls, TransientError)} >= transient
    assert {s for s, (cls, _) in STATUS_TABLE.items() if cls is PermanentError} >= permanent


@pytest.mark.parametrize("status", [302, 418, 507])
def test_unknown_statuses_are_transient(rsps: responses.RequestsMock, status: int) -> None:
    rsps.get(USERS, body="odd", status=status)
    with pytest.raises(TransientError) as info:
        make_adapter(f"unknown-{status}").check()
    assert type(info.value) is TransientError


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.ConnectionError("refused"), "connection"),
        (requests.ConnectTimeout("slow connect"), "timeout"),
        (requests.ReadTimeout("slow read"), "timeout"),
        (requests.exceptions.SSLError("bad cert"), "tls"),
    ],
)
def test_transport_failures_are_transient(rsps: responses.RequestsMock, exc: Exception, kind: str) -> None:
    rsps.get(USERS, body=exc)
    name = f"exc-{kind}-{type(exc).__name__}"
    with pytest.raises(TransientError, match=kind):
        make_adapter(name).check()
    assert sample("bridge_servicenow_errors_total", {"instance": name, "kind": kind}) == 1


def test_a_2xx_that_is_not_json_is_transient(rsps: responses.RequestsMock) -> None:
    rsps.get(USERS, body="<xml/>", content_type="application/xml")
    with pytest.raises(TransientError, match="expected JSON"):
        make_adapter("not-json").check()


def test_every_call_has_timeouts_and_tls_verification(rsps: responses.RequestsMock) -> None:
    rsps.get(USERS, json=OK)
    make_adapter("timeouts", timeout={"connect": 3, "read": 20}).check()
    assert sent_kwargs(rsps.calls[0])["timeout"] == (3.0, 20.0)
    verify = sent_kwargs(rsps.calls[0])["verify"]
    assert verify is True or isinstance(verify, str)  # requests may swap True for REQUESTS_CA_BUNDLE


def test_ca_bundle_is_used_for_verification(rsps: responses.RequestsMock, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    rsps.get(USERS, json=OK)
    make_adapter("ca", ca_bundle=str(bundle)).check()
    assert sent_kwargs(rsps.calls[0])["verify"] == str(bundle)


# -- rate limiting ---------------------------------------------------------------------------------------


def _response(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"Retry-After": formatdate(1_700_000_090, usegmt=True)}, 90.0),
        ({"X-RateLimit-Reset": "1700000120"}, 120.0),  # a Unix time, as ServiceNow sends
        ({"X-RateLimit-Reset": "45"}, 45.0),  # a delay
        ({"Retry-After": "soon", "X-RateLimit-Reset": "1700000010"}, 10.0),
        ({"Retry-After": "-5"}, 0.0),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(_response(headers), lambda: 1_700_000_000.0) == expected


def test_429_carries_retry_after_and_pauses_calls_locally(rsps: responses.RequestsMock) -> None:
    body = {"error": {"message": "Rate limit exceeded", "detail": "rule 'bridge' 1000/hour"}}
    rsps.get(USERS, json=body, status=429, headers={"Retry-After": "30"})
    clock = FakeClock()
    adapter = make_adapter("ratelimited", clock=clock)
    with pytest.raises(RateLimitedError) as info:
        adapter.check()
    assert info.value.retry_after == 30.0
    assert "Rate limit exceeded" in str(info.value)

    clock.advance(10)
    with pytest.raises(RateLimitedError) as paused:
        adapter.check()
    assert paused.value.retry_after == pytest.approx(20.0)
    assert len(rsps.calls) == 1  # refused locally: no call spent on a limit we know is hit

    clock.advance(21)
    rsps.replace(responses.GET, USERS, json=OK)
    adapter.check()
    assert len(rsps.calls) == 2


def test_token_bucket_blocks_to_the_configured_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, 2, clock=clock.clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]
    clock.advance(10)  # idle time refills only up to the burst
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.5]


def test_the_adapter_spends_its_budget_before_each_call(rsps: responses.RequestsMock) -> None:
    rsps.get(USERS, json=OK)
    clock = FakeClock()
    adapter = make_adapter("budget", clock=clock, requests_per_second=4, burst=1)
    for _ in range(3):
        adapter.check()
    assert clock.slept == [0.25, 0.25]
    assert len(rsps.calls) == 3


class GatedSession(requests.Session):
    """Holds every request until the test lets one through, recording how many were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.gate = threading.Semaphore(0)
        self.in_flight = 0
        self.peak = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        released = self.gate.acquire(timeout=30)
        with self.lock:
            self.in_flight -= 1
        assert released, "the test never let this request through"
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = b'{"result": []}'
        response.request = requests.Request(str(method), str(url)).prepare()
        response.raw = types.SimpleNamespace()
        return response


def test_concurrency_is_limited_per_instance() -> None:
    session = GatedSession()
    adapter = make_adapter("concurrency", session=session, max_concurrency=2)
    threads = [threading.Thread(target=adapter.check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for left in range(8, 0, -1):  # let one through each time the limit is full (or all that remain are in)
        wait_for(lambda n=min(2, left): session.in_flight == n, timeout=30, what=f"{min(2, left)} in flight")
        session.gate.release()
    for thread in threads:
        thread.join()
    assert session.peak == 2, "two at a time: the other six waited while two were held"


def test_api_calls_are_counted_by_method_and_table(rsps: responses.RequestsMock) -> None:
    rsps.get(USERS, json=OK)
    adapter = make_adapter("counting")
    adapter.check()
    adapter.check()
    labels = {"instance": "counting", "method": "GET", "table": "sys_user"}
    assert sample("bridge_servicenow_api_calls_total", labels) == 2


# -- OAuth -----------------------------------------------------------------------------------------------


def test_password_grant_then_bearer(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2]))
    rsps.get(USERS, json=OK)
    adapter = make_adapter("oauth-password", oauth(username="bridge", password=SECRETS[0]))
    adapter.check()
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]
    assert form(rsps.calls[0]) == {
        "grant_type": "password",
        "client_id": "bridge",
        "client_secret": SECRETS[1],
        "username": "bridge",
        "password": SECRETS[0],
    }
    assert "Authorization" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {SECRETS[2]}"
    token_calls = {"instance": "oauth-password", "method": "POST", "table": "oauth_token"}
    assert sample("bridge_servicenow_api_calls_total", token_calls) == 1


def test_client_credentials_grant(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2], refresh=None))
    rsps.get(USERS, json=OK)
    make_adapter("oauth-cc", oauth()).check()
    assert form(rsps.calls[0]) == {
        "grant_type": "client_credentials",
        "client_id": "bridge",
        "client_secret": SECRETS[1],
    }


def test_token_is_renewed_before_it_expires(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2]))
    rsps.post(TOKEN_URL, json=token(SECRETS[3]))
    rsps.get(USERS, json=OK)
    clock = FakeClock()
    adapter = make_adapter("oauth-renew", oauth(username="bridge", password=SECRETS[0], token_margin=60), clock=clock)
    adapter.check()
    clock.advance(1700)  # 100 s left: still outside the 60 s margin
    adapter.check()
    assert len([c for c in rsps.calls if c.request.url == TOKEN_URL]) == 1
    clock.advance(45)  # 55 s left: inside the margin, renew first
    adapter.check()
    token_calls = [c for c in rsps.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 2
    assert form(token_calls[1])["grant_type"] == "refresh_token"
    assert form(token_calls[1])["refresh_token"] == SECRETS[4]
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {SECRETS[3]}"


def test_a_401_renews_the_token_once_and_retries(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2]))
    rsps.post(TOKEN_URL, json=token(SECRETS[3]))
    rsps.get(USERS, json={"error": {"message": "User Not Authenticated"}}, status=401)
    rsps.get(USERS, json=OK)
    make_adapter("oauth-401", oauth(username="bridge", password=SECRETS[0])).check()
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "POST", "GET"]
    assert rsps.calls[3].request.headers["Authorization"] == f"Bearer {SECRETS[3]}"


def test_a_persistent_401_is_permanent_after_one_retry(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2]))
    rsps.get(USERS, json={"error": {"message": "User Not Authenticated"}}, status=401)
    with pytest.raises(PermanentError, match="User Not Authenticated"):
        make_adapter("oauth-401-again", oauth(username="bridge", password=SECRETS[0])).check()
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "POST", "GET"]


def test_basic_auth_401_is_not_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(USERS, json={"error": {"message": "User Not Authenticated"}}, status=401)
    with pytest.raises(PermanentError):
        make_adapter("basic-401").check()
    assert len(rsps.calls) == 1


def test_a_refused_refresh_token_falls_back_to_the_password_grant(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2], expires_in=60))
    rsps.post(TOKEN_URL, json={"error": "invalid_grant", "error_description": "expired"}, status=401)
    rsps.post(TOKEN_URL, json=token(SECRETS[3]))
    rsps.get(USERS, json=OK)
    clock = FakeClock()
    adapter = make_adapter("oauth-fallback", oauth(username="bridge", password=SECRETS[0]), clock=clock)
    adapter.check()
    clock.advance(30)
    adapter.check()
    grants = [form(c)["grant_type"] for c in rsps.calls if c.request.url == TOKEN_URL]
    assert grants == ["password", "refresh_token", "password"]


def test_a_refused_configured_refresh_token_is_permanent(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json={"error": "invalid_grant"}, status=401)
    with pytest.raises(PermanentError, match="invalid_grant"):
        make_adapter("oauth-rt-only", oauth(refresh_token=SECRETS[4])).check()


def test_refresh_token_expiry_gauge_and_one_warning(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2], expires_in=60))
    rsps.get(USERS, json=OK)
    clock = FakeClock()
    auth = oauth(username="bridge", password=SECRETS[0], refresh_token_lifespan=10 * 86400)
    adapter = make_adapter("oauth-expiry", auth, clock=clock)
    with caplog.at_level(logging.WARNING):
        adapter.check()
        clock.advance(86400)
        adapter.check()  # renews by refresh token: same token, same expiry, no second warning
    gauge = sample("bridge_servicenow_refresh_token_expiry_seconds", {"instance": "oauth-expiry"})
    assert gauge == pytest.approx(9 * 86400)
    warnings = [r for r in caplog.records if "refresh token expires" in r.getMessage()]
    assert len(warnings) == 1


def test_no_secret_reaches_logs_or_exceptions(rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    rsps.post(TOKEN_URL, json=token(SECRETS[2], expires_in=60))
    rsps.post(TOKEN_URL, json=token(SECRETS[3]))
    rsps.get(USERS, json={"error": {"message": "User Not Authenticated"}}, status=401)
    rsps.get(USERS, json={"error": {"message": "Insufficient rights"}}, status=403)
    auth = oauth(username="bridge", password=SECRETS[0], refresh_token_lifespan=86400)
    with caplog.at_level(logging.DEBUG):
        adapter = make_adapter("oauth-secrets", auth)
        with pytest.raises(PermanentError) as info:
            adapter.check()
    exposed = "\n".join([caplog.text, str(info.value), info.value.body or "", repr(info.value.args), repr(adapter)])
    for secret in SECRETS:
        assert secret not in exposed
    assert "Bearer" not in exposed and "Authorization" not in exposed
    assert "Insufficient rights" in str(info.value)
