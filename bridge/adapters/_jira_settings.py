"""Typed configuration of one partner Jira Service Management site, validated before the bridge starts.

TLS verification cannot be turned off (there is no such field): a private CA is given as ``ca_bundle``.
Plain ``http`` is accepted only for a loopback host, which is what the local emulator uses.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, FilePath, SecretStr, field_validator

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class Settings(BaseModel, extra="forbid", frozen=True):
    """One partner's Jira Service Management site. TLS verification cannot be turned off (no such field)."""

    base_url: str
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: SecretStr
    service_desk_id: str = Field(pattern=r"^\d+$")
    request_type_id: str = Field(pattern=r"^\d+$")
    project_key: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,254}$")
    external_ref_field: str = Field("customfield_10050", pattern=r"^customfield_\d+$")
    connect_timeout: float = Field(5.0, gt=0, le=60)
    read_timeout: float = Field(30.0, gt=0, le=600)
    ca_bundle: FilePath | None = None
    page_size: int = Field(50, ge=1, le=100)
    search_api: Literal["jql", "legacy"] = Field(
        "jql", description="jql: /search/jql (Jira Cloud); legacy: /search, which only Data Center still has"
    )
    search_lag_seconds: float = Field(
        30.0, ge=0, le=3600, description="how far Jira Cloud's search index may lag behind writes"
    )
    timezone: str | None = Field(None, description="the account's Jira time zone; None = ask /myself once")
    pool_size: int = Field(8, ge=1, le=64)

    @field_validator("base_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        """``https://site.atlassian.net``; plain http only for a loopback host (the local emulator)."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute URL such as https://partner.atlassian.net")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not carry credentials, a query or a fragment")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("plain http is allowed only for localhost / 127.0.0.1; use https")
        return value.strip().rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("api_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        """A token with spaces or control characters would end up in an HTTP header (and an error about it)."""
        secret = value.get_secret_value()
        if not secret or any(ch.isspace() or ord(ch) < 32 for ch in secret):
            raise ValueError("must be a non-empty API token without spaces or control characters")
        return value
