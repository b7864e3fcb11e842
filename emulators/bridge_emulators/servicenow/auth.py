"""Basic authentication and the OAuth token endpoint (``POST /oauth_token.do``).

ServiceNowDocs ``markdown/api-reference/rest-api-explorer/r_RESTOAuthExample.md``: a form-encoded request
with ``grant_type``, ``client_id``, ``client_secret`` (and ``username``/``password`` for the password grant)
answers ``{"scope": "useraccount", "token_type": "Bearer", "expires_in": 1799, "refresh_token": ...,
"access_token": ...}``. Refused credentials answer 401 ``{"error_description": "access_denied", "error":
"server_error"}`` as instances do. Access and refresh tokens expire after their own lifetimes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .users import OAuthClient, UserAccount

ACCESS_LIFETIME = 1800.0
REFRESH_LIFETIME = 8_640_000.0  # 100 days, the platform's default refresh token lifespan
DENIED = {"error_description": "access_denied", "error": "server_error"}


@dataclass(frozen=True)
class Token:
    """An issued token: whom it acts for and until when."""

    user: str
    client_id: str
    expires: float


class Authenticator:
    """Checks Authorization headers and issues OAuth tokens; thread-safe."""

    def __init__(
        self,
        users: Mapping[str, UserAccount],
        clients: Sequence[OAuthClient],
        *,
        access_lifetime: float = ACCESS_LIFETIME,
        refresh_lifetime: float = REFRESH_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = users
        self.clients = {c.client_id: c for c in clients}
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.clock = clock  # Unix seconds that token lifetimes run on (a test steps it instead of sleeping)
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str) -> str | None:
        """The user name an Authorization header proves, or None (missing, wrong or expired)."""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "basic":
            pair = _decode_basic(credentials)
            if pair and self._password_ok(*pair):
                return pair[0]
            return None
        if scheme.lower() == "bearer":
            with self._lock:
                token = self._access.get(credentials.strip())
            if token is not None and token.expires > self.clock():
                return token.user
        return None

    def _password_ok(self, user: str, password: str) -> bool:
        account = self.users.get(user)
        return account is not None and hmac.compare_digest(account.password, password)

    def token(self, form: Mapping[str, str], authorization: str = "") -> tuple[int, dict[str, object]]:
        """Answer one token request: (status, JSON body)."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id and authorization.lower().startswith("basic "):
            client_id, secret = _decode_basic(authorization[6:]) or ("", "")
        grant = form.get("grant_type", "")
        if not grant:
            return 400, {"error": "invalid_request", "error_description": "grant_type is required"}
        if grant not in ("password", "refresh_token", "client_credentials"):
            return 400, {"error": "unsupported_grant_type", "error_description": grant}
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.client_secret, secret):
            return 401, dict(DENIED)
        user = self._grant_user(grant, form, client)
        if user is None:
            return 401, dict(DENIED)
        return 200, self._issue(user, client, refresh=grant != "client_credentials")

    def _grant_user(self, grant: str, form: Mapping[str, str], client: OAuthClient) -> str | None:
        """Whom the token will act for, or None when the grant's own credentials are refused."""
        if grant == "password":
            user = form.get("username", "")
            return user if self._password_ok(user, form.get("password", "")) else None
        if grant == "client_credentials":
            return client.run_as
        with self._lock:
            token = self._refresh.get(form.get("refresh_token", ""))
        if token is None or token.expires <= self.clock() or token.client_id != client.client_id:
            return None
        return token.user

    def _issue(self, user: str, client: OAuthClient, *, refresh: bool) -> dict[str, object]:
        """Mint an access token (and a refresh token unless client_credentials)."""
        now = self.clock()
        access = secrets.token_urlsafe(64)
        body: dict[str, object] = {
            "access_token": access,
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": max(int(self.access_lifetime) - 1, 0),
        }
        with self._lock:
            self._access[access] = Token(user, client.client_id, now + self.access_lifetime)
            if refresh:
                refresh_token = secrets.token_urlsafe(64)
                self._refresh[refresh_token] = Token(user, client.client_id, now + self.refresh_lifetime)
                body["refresh_token"] = refresh_token
        return body

    def revoke_all(self) -> None:
        """Forget every issued token (the admin reset)."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()


def _decode_basic(credentials: str) -> tuple[str, str] | None:
    """``user:password`` from a Basic credential, or None when it is not valid base64."""
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None
