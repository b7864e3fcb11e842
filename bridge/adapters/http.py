"""A generic JSON-over-HTTP target: POST/PUT/PATCH a body to a path, with an `Idempotency-Key` header.

Used for webhook-style partner endpoints and as the neutral target of the engine's own tests and benchmarks.
The receiver is expected to honour `Idempotency-Key` (as Stripe-style APIs do) so a redelivery has no effect.

It speaks urllib3 (requests' own transport) directly: one target, one host, one kind of call, so requests'
per-call work (merging session settings, cookies, hooks, redirects) bought nothing and cost about a third of a
delivery's CPU. What requests would honour is read once, when the adapter is built, from the same places:
``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (a proxy's ``user:password@`` becomes its Proxy-Authorization),
the CA bundle (``ca_bundle``, else ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's, as requests uses;
verification is never off), and ``~/.netrc`` (``NETRC``) credentials when no token or Authorization header is
configured. A redirect is not followed: a 3xx is a dead letter naming where it pointed (requests would turn a
redirected POST into a GET and lose the body), so the admin fixes ``base_url``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote

import urllib3
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies, get_netrc_auth

from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import PermanentError, TransientError
from bridge.failures import error_for_status


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    token: SecretStr | None = Field(None, description="sent as `Authorization: Bearer ...`")
    headers: dict[str, str] = Field(default_factory=dict)
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    ca_bundle: str | None = Field(None, description="extra CA bundle; TLS verification is never turned off")
    pool_size: int = Field(64, ge=1)

    @field_validator("base_url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return url.rstrip("/")


Method = Literal["POST", "PUT", "PATCH"]


class HttpAdapter:
    """Delivers `post` / `put` / `patch` operations: payload `{"path": "/x", "body": {...}}`."""

    def __init__(self, name: str, settings: Settings, *, pool: urllib3.PoolManager | None = None) -> None:
        self.name = name
        self.settings = settings
        self.ca_bundle = settings.ca_bundle or _environment_bundle() or DEFAULT_CA_BUNDLE_PATH
        self.proxy = get_environ_proxies(settings.base_url).get(settings.base_url.split(":", 1)[0])
        self.pool = pool or _pool(settings, self.ca_bundle, self.proxy)
        self.headers = {"User-Agent": "mhhs-bridge (http adapter)", **settings.headers, **_authorization(settings)}
        if not any(name.lower() == "content-type" for name in self.headers):  # a configured one wins, as in requests
            self.headers["Content-Type"] = "application/json"
        self._timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)

    def deliver(self, op: Operation) -> DeliveryResult:
        method = op.action.upper()
        if method not in ("POST", "PUT", "PATCH"):
            raise PermanentError(f"http target {self.name} cannot {op.action!r}")
        path = str(op.payload.get("path", ""))
        headers = {**self.headers, "Idempotency-Key": op.idempotency_key}
        try:
            body = json.dumps(op.payload.get("body"), separators=(",", ":"), allow_nan=False).encode()
        except ValueError as exc:  # NaN or infinity: no JSON receiver can take it, however often it is sent
            raise PermanentError(f"{method} {path} on {self.name}: the body is not valid JSON: {exc}") from exc
        response = self._request(method, path, body, headers)
        if response.status >= 400:
            text = response.data.decode("utf-8", "replace")
            raise error_for_status(response.status, response.headers, text, f"{method} {path} on {self.name}")
        if response.status >= 300:
            where = response.headers.get("Location", "nowhere")
            raise PermanentError(
                f"{method} {path} on {self.name}: HTTP {response.status} redirected to {where}; redirects are not "
                "followed (a POST would arrive as a GET): point base_url at the final address",
                status=response.status,
            )
        return DeliveryResult(target_id=response.headers.get("X-Record-Id"), detail={"status": response.status})

    def lookup(self, op: Operation) -> str | None:
        """A generic endpoint offers no search; the Idempotency-Key makes a resend harmless instead."""
        return None

    def check(self) -> str:
        response = self._request("GET", "", None, dict(self.headers))
        return f"{self.name}: HTTP {response.status} from {self.settings.base_url}"

    def close(self) -> None:
        self.pool.clear()

    def _request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """One call, no retries or redirects of urllib3's own (the dispatcher retries); a failure to connect,
        send or read is transient, as requests' ConnectionError and Timeout are."""
        url = f"{self.settings.base_url}/{path.lstrip('/')}" if path else self.settings.base_url
        try:
            return self.pool.request(
                method, url, body=body, headers=headers, timeout=self._timeout, retries=False, redirect=False
            )
        except urllib3.exceptions.TimeoutError as exc:
            if isinstance(exc, urllib3.exceptions.NewConnectionError):  # urllib3 files a refusal under timeouts
                raise TransientError(f"{self.name}: connection error: {exc}") from exc
            raise TransientError(f"{self.name}: timeout: {type(exc).__name__}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(f"{self.name}: connection error: {type(exc).__name__}: {exc}") from exc


def _environment_bundle() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def _pool(settings: Settings, ca_bundle: str, proxy: str | None) -> urllib3.PoolManager:
    """Connections to the target (through the environment's proxy, if any), always verifying TLS."""
    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED"}
    tls["ca_cert_dir" if os.path.isdir(ca_bundle) else "ca_certs"] = ca_bundle
    if proxy is None:
        return urllib3.PoolManager(num_pools=4, maxsize=settings.pool_size, **tls)
    auth = urllib3.util.parse_url(proxy).auth
    proxy_headers = urllib3.make_headers(proxy_basic_auth=unquote(auth)) if auth else None
    return urllib3.ProxyManager(proxy, num_pools=4, maxsize=settings.pool_size, proxy_headers=proxy_headers, **tls)


def _authorization(settings: Settings) -> dict[str, str]:
    """``Bearer <token>`` when configured; else the netrc entry for the host (as requests would send it), when
    no Authorization header is configured either."""
    if settings.token is not None:
        return {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
    if any(name.lower() == "authorization" for name in settings.headers):
        return {}
    found = get_netrc_auth(settings.base_url)
    return {"Authorization": urllib3.make_headers(basic_auth=":".join(found))["authorization"]} if found else {}


def from_config(name: str, settings: Mapping[str, Any]) -> HttpAdapter:
    return HttpAdapter(name, Settings.model_validate(settings))
