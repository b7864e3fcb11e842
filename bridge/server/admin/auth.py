"""Who may use the admin surface: an admin token (`Authorization: Bearer`), or a browser session.

The login form trades a token for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) holding a
signed session id and CSRF secret, never the token itself. Each token signs its own sessions with a key derived
from it, so removing a token from `admin.tokens` ends every session it opened, and sessions survive restarts.
Form and API writes made with a session must carry its CSRF token (`csrf` form field, `X-CSRF-Token` header);
bearer-token calls need none (no ambient credential a third-party page could ride on).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "bridge_admin"
LOGIN_COOKIE = "bridge_admin_login"
SESSION_SECONDS = 12 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ACTOR = "admin-api"

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="adminToken", description="An admin token from `admin.tokens`."
)
cookie_scheme = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    scheme_name="adminSession",
    description="The session cookie set by the /admin/login form; writes also need the X-CSRF-Token header.",
)


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    fingerprint: str


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``session`` is None for bearer-token calls."""

    actor: str
    session: Session | None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


class AdminAuth:
    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = [t for t in tokens if t]
        self._signers = {_fingerprint(t): _signer(t) for t in self.tokens}
        self._revoked: OrderedDict[str, float] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def token_ok(self, presented: str | None) -> bool:
        return bool(presented) and self.matching_token(str(presented)) is not None

    def open_session(self, token: str) -> tuple[str, Session]:
        """A new session for a caller who presented ``token``: the cookie value and the session."""
        session = Session(secrets.token_urlsafe(16), secrets.token_urlsafe(24), _fingerprint(token))
        signed = self._signers[session.fingerprint].dumps({"sid": session.sid, "csrf": session.csrf})
        return f"{session.fingerprint}.{signed}", session

    def matching_token(self, presented: str) -> str | None:
        found = None
        for token in self.tokens:  # every token compared, in constant time each
            if hmac.compare_digest(presented.encode(), token.encode()):
                found = token
        return found

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie holds, if its signature, age and token are still good and it was not ended."""
        if not cookie:
            return None
        fingerprint, _, signed = cookie.partition(".")
        signer = self._signers.get(fingerprint)
        if signer is None:
            return None
        try:
            data: Any = signer.loads(signed, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("sid") in self._revoked:
            return None
        return Session(str(data.get("sid")), str(data.get("csrf")), fingerprint)

    def end(self, session: Session) -> None:
        """Log out: remember the session id until it would have expired anyway (bounded, per process)."""
        now = time.time()
        self._revoked[session.sid] = now + SESSION_SECONDS
        while self._revoked and (len(self._revoked) > 10_000 or next(iter(self._revoked.values())) < now):
            self._revoked.popitem(last=False)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"bridge-admin-fp:" + token.encode()).hexdigest()[:12]


def _signer(token: str) -> URLSafeTimedSerializer:
    key = hmac.new(token.encode(), b"bridge-admin-session-v1", hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt="bridge-admin-session")


def csrf_matches(presented: str | None, session: Session) -> bool:
    return bool(presented) and hmac.compare_digest(str(presented).encode(), session.csrf.encode())


def auth_of(request: Request) -> AdminAuth:
    auth: AdminAuth = request.app.state.admin_auth
    return auth


def api_principal(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    cookie: str | None = Depends(cookie_scheme),
) -> Principal:
    """The admin API's gate: 401 without a valid token or session, 403 for a session write without CSRF."""
    auth = auth_of(request)
    if bearer is not None and auth.token_ok(bearer.credentials):
        return Principal(ACTOR, None)
    session = auth.session(cookie)
    if session is None:
        raise HTTPException(401, {"error": "admin token required"}, headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and not csrf_matches(request.headers.get("x-csrf-token"), session):
        raise HTTPException(403, {"error": "missing or wrong X-CSRF-Token"})
    return Principal(ACTOR, session)


def page_principal(request: Request) -> Principal:
    """The pages' gate: a bearer token or a session; anyone else is sent to the login form."""
    auth = auth_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and auth.token_ok(header[7:].strip()):
        return Principal(ACTOR, None)
    session = auth.session(request.cookies.get(COOKIE))
    if session is None:
        raise HTTPException(303, "login required", headers={"Location": "/admin/login"})
    return Principal(ACTOR, session)


def check_form_csrf(principal: Principal, form: dict[str, str]) -> None:
    """A form post made with a session must carry that session's CSRF token."""
    if principal.session is not None and not csrf_matches(form.get("csrf"), principal.session):
        raise HTTPException(403, "the form has expired or did not come from this page; reload it and try again")
