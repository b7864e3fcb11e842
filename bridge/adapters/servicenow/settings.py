"""Typed configuration of one ServiceNow target, validated once before the bridge starts.

TLS verification cannot be turned off (there is no ``verify`` field): a private CA is configured with
``ca_bundle``. Plain ``http`` is accepted only for a loopback host, which is what the local emulator uses.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, Field, FilePath, SecretStr, field_validator, model_validator

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
DAY = 86_400.0


class Timeouts(BaseModel, extra="forbid", frozen=True):
    """Seconds to wait for a connection and for each read; every call has both."""

    connect: float = Field(default=5.0, gt=0, le=60)
    read: float = Field(default=60.0, gt=0, le=600)


class BasicAuth(BaseModel, extra="forbid", frozen=True):
    """HTTP basic authentication of an integration user."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password: SecretStr


class OAuthAuth(BaseModel, extra="forbid", frozen=True):
    """OAuth 2 against ``/oauth_token.do``.

    The grant follows from what is given: ``username`` + ``password`` -> password grant; only
    ``refresh_token`` -> refresh-token grant; neither -> client_credentials. ServiceNow does not say when a
    refresh token expires, so its lifespan (the Application Registry's "Refresh Token Lifespan", 100 days
    by default) or the expiry of a configured token is given here, to warn before it lapses.
    """

    type: Literal["oauth"]
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    refresh_token: SecretStr | None = None
    refresh_token_expires_at: AwareDatetime | None = None
    refresh_token_lifespan: float = Field(default=100 * DAY, gt=0)
    refresh_token_warning: float = Field(default=14 * DAY, ge=0)
    token_margin: float = Field(default=60.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> OAuthAuth:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (password grant) or not at all")
        return self

    @property
    def grant(self) -> Literal["password", "refresh_token", "client_credentials"]:
        """The grant used to obtain the first token."""
        if self.username is not None:
            return "password"
        if self.refresh_token is not None:
            return "refresh_token"
        return "client_credentials"


class BatchSettings(BaseModel, extra="forbid", frozen=True):
    """Writes of many independent records sent together through the Batch API (``/api/now/v1/batch``).

    ``max_requests`` is the most items per batch call. The platform's documented limits are per item (5 MB in,
    10 MB out) and per batch (30 s, the REST Batch API request timeout quota), not a count: 50 small record
    writes run well inside the 30 s on an ordinary instance, while hundreds risk reaching it (the rest then
    come back unserviced and are sent again). ``resend_rounds`` is how many further batch calls one delivery
    makes for items the instance left unserviced before they wait for the outbox's ordinary retry.
    """

    enabled: bool = True
    max_requests: int = Field(default=50, ge=2, le=500)
    resend_rounds: int = Field(default=2, ge=0, le=10)


class Settings(BaseModel, extra="forbid", frozen=True):
    """One ServiceNow instance as a target and a source."""

    instance_url: str
    auth: Annotated[BasicAuth | OAuthAuth, Field(discriminator="type")]
    ca_bundle: FilePath | None = None
    timeout: Timeouts = Timeouts()
    max_concurrency: int = Field(default=4, ge=1, le=64)
    requests_per_second: float = Field(default=5.0, gt=0, le=1000)
    burst: int = Field(default=5, ge=1, le=1000)
    page_size: int = Field(default=500, ge=1, le=10_000)
    schema_cache_seconds: float = Field(default=3600.0, ge=0)
    batch: BatchSettings = BatchSettings()

    @field_validator("instance_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        """``https://host[:port]``; http only on loopback; no credentials, path or query in the URL."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://example.service-now.com")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; use auth")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the instance origin only (no path, query or fragment)")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("plain http is allowed only for localhost / 127.0.0.1; use https")
        return f"{parts.scheme}://{parts.netloc}"
