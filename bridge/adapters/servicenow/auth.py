"""Credentials for the Authorization header: basic, or OAuth 2 tokens renewed before they expire.

pysnow's OAuthClient is not used: it ignores an injected session (so our CA bundle, timeouts, budget and
metrics would be bypassed), supports only the password grant, and knows nothing of refresh-token expiry.
Tokens live only in memory and never reach a log line or an exception.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bridge.errors import PermanentError, TransientError

from .metrics import REFRESH_TOKEN_EXPIRY
from .settings import BasicAuth, OAuthAuth

log = logging.getLogger(__name__)

TokenFetch = Callable[[Mapping[str, str]], Mapping[str, Any]]
_DEFAULT_EXPIRES_IN = 1800.0  # ServiceNow's default access-token lifespan


class Credentials(Protocol):
    """What the transport needs: a header value, and whether a 401 is worth one retry."""

    def authorization(self) -> str:
        """The Authorization header value to send now."""
        ...

    def rejected(self, authorization: str) -> bool:
        """The instance answered 401 to ``authorization``; True if a renewed credential may succeed."""
        ...


class BasicCredentials:
    """A fixed user and password: a 401 will not go away by retrying."""

    def __init__(self, settings: BasicAuth) -> None:
        raw = f"{settings.username}:{settings.password.get_secret_value()}".encode()
        self._header = "Basic " + base64.b64encode(raw).decode("ascii")

    def authorization(self) -> str:
        return self._header

    def rejected(self, authorization: str) -> bool:
        return False


class OAuthCredentials:
    """Access tokens from ``/oauth_token.do``, renewed ``token_margin`` seconds before they expire.

    Renewal uses the refresh token while it is valid, else the configured grant again. ``clock`` is
    monotonic (access-token lifetimes), ``wall`` is epoch seconds (refresh-token expiry dates).
    """

    def __init__(
        self,
        settings: OAuthAuth,
        *,
        name: str,
        fetch: TokenFetch,
        clock: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._name = name
        self._fetch = fetch
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._access: str | None = None
        self._access_expires = 0.0
        self._refresh = settings.refresh_token.get_secret_value() if settings.refresh_token else None
        expires_at = settings.refresh_token_expires_at
        self._refresh_expires: float | None = expires_at.timestamp() if expires_at else None
        self._warned_expiry: float | None = None

    def authorization(self) -> str:
        with self._lock:
            if self._access is None or self._clock() >= self._access_expires - self._settings.token_margin:
                self._renew()
            return f"Bearer {self._access}"

    def rejected(self, authorization: str) -> bool:
        """Drop the access token unless another thread already replaced it; one retry is worth it."""
        with self._lock:
            if self._access is not None and authorization == f"Bearer {self._access}":
                self._access = None
        return True

    def _renew(self) -> None:
        token = self._by_refresh_token() if self._refresh_usable() else None
        if token is None:
            token = self._fetch(self._first_grant())
        self._store(token)

    def _refresh_usable(self) -> bool:
        if self._refresh is None:
            return False
        return self._refresh_expires is None or self._wall() < self._refresh_expires

    def _by_refresh_token(self) -> Mapping[str, Any] | None:
        """Renew with the refresh token; None (fall back to the first grant) if the instance refuses it."""
        form = {**self._client(), "grant_type": "refresh_token", "refresh_token": self._refresh or ""}
        try:
            return self._fetch(form)
        except PermanentError:
            if self._settings.grant == "refresh_token":
                raise
            log.warning("ServiceNow %s: refresh token refused; using the %s grant", self._name, self._settings.grant)
            self._refresh = None
            return None

    def _first_grant(self) -> dict[str, str]:
        settings = self._settings
        if settings.grant == "password":
            assert settings.username is not None and settings.password is not None
            return {
                **self._client(),
                "grant_type": "password",
                "username": settings.username,
                "password": settings.password.get_secret_value(),
            }
        if settings.grant == "client_credentials":
            return {**self._client(), "grant_type": "client_credentials"}
        raise PermanentError(f"ServiceNow {self._name}: the configured refresh token has expired; set a new one")

    def _client(self) -> dict[str, str]:
        return {
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
        }

    def _store(self, token: Mapping[str, Any]) -> None:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise TransientError(f"ServiceNow {self._name}: token answer without an access_token")
        self._access = access
        self._access_expires = self._clock() + _seconds(token.get("expires_in"))
        refresh = token.get("refresh_token")
        if isinstance(refresh, str) and refresh and refresh != self._refresh:
            self._refresh = refresh
            self._refresh_expires = self._wall() + self._settings.refresh_token_lifespan
        self._report_refresh_expiry()

    def _report_refresh_expiry(self) -> None:
        """Gauge the refresh token's remaining life; warn once per token inside the warning window."""
        if self._refresh is None or self._refresh_expires is None:
            return
        remaining = self._refresh_expires - self._wall()
        REFRESH_TOKEN_EXPIRY.labels(self._name).set(remaining)
        if remaining < self._settings.refresh_token_warning and self._warned_expiry != self._refresh_expires:
            self._warned_expiry = self._refresh_expires
            log.warning(
                "ServiceNow %s: the OAuth refresh token expires in %.1f days; renew it before then",
                self._name,
                remaining / 86_400,
            )


def _seconds(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _DEFAULT_EXPIRES_IN
