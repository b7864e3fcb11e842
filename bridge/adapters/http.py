"""A generic JSON-over-HTTP target: POST/PUT/PATCH a body to a path, with an `Idempotency-Key` header.

Used for webhook-style partner endpoints and as the neutral target of the engine's own tests and benchmarks.
The receiver is expected to honour `Idempotency-Key` (as Stripe-style APIs do) so a redelivery has no effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bridge.adapters._session import Session
from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import PermanentError, TransientError
from bridge.failures import error_for_response


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

    def __init__(self, name: str, settings: Settings, *, session: requests.Session | None = None) -> None:
        self.name = name
        self.settings = settings
        self.session = session or _session(settings)
        # True: the session verifies with REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE when set (read once, _session.py)
        self._verify: str | bool = settings.ca_bundle or True

    def deliver(self, op: Operation) -> DeliveryResult:
        method = op.action.upper()
        if method not in ("POST", "PUT", "PATCH"):
            raise PermanentError(f"http target {self.name} cannot {op.action!r}")
        path = str(op.payload.get("path", ""))
        headers = {"Idempotency-Key": op.idempotency_key, **self._auth()}
        response = self.session.request(
            method,
            f"{self.settings.base_url}/{path.lstrip('/')}",
            json=op.payload.get("body"),
            headers=headers,
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            verify=self._verify,
        )
        if response.status_code >= 400:
            raise error_for_response(response, f"{method} {path} on {self.name}")
        return DeliveryResult(target_id=response.headers.get("X-Record-Id"), detail={"status": response.status_code})

    def lookup(self, op: Operation) -> str | None:
        """A generic endpoint offers no search; the Idempotency-Key makes a resend harmless instead."""
        return None

    def check(self) -> str:
        try:
            response = self.session.get(
                self.settings.base_url,
                headers=self._auth(),
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                verify=self._verify,
            )
        except requests.RequestException as exc:
            raise TransientError(f"{self.name}: {type(exc).__name__}") from exc
        return f"{self.name}: HTTP {response.status_code} from {self.settings.base_url}"

    def close(self) -> None:
        self.session.close()

    def _auth(self) -> dict[str, str]:
        headers = dict(self.settings.headers)
        if self.settings.token is not None:
            headers["Authorization"] = f"Bearer {self.settings.token.get_secret_value()}"
        return headers


def _session(settings: Settings) -> requests.Session:
    session = Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=settings.pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def from_config(name: str, settings: Mapping[str, Any]) -> HttpAdapter:
    return HttpAdapter(name, Settings.model_validate(settings))
