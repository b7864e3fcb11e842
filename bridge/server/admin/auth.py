"""Who may use the admin surface: an admin token (`Authorization: Bearer`), or a browser session.

Each token is named for the admin who holds it (`admin.tokens: {alice: ...}`), and that name is the
:class:`Principal`'s actor, which the audit records; a token of the older list form is named ``admin-api``.
The login form trades a token for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) holding a
signed session id and CSRF secret, never the token itself. Each token signs its own sessions with a key derived
from it, so removing a token from `admin.tokens` ends every session it opened, and sessions survive restarts. A
session carries the token's fingerprint, so its actor is the name the configuration gives that token now.
Logging out records the session id in the store (``admin_session_revocations``), so the session stays ended
after a restart and in every other process sharing the store (issue 15), until it would have expired anyway.
Form and API writes made with a session must carry its CSRF token (`csrf` form field, `X-CSRF-Token` header);
bearer-token calls need none (no ambient credential a third-party page could ride on).

Credentials are checked before any body is read: :func:`gate` runs in :class:`bridge.server.limits.RequestLimits`
for the API and every form post, and failed attempts count against the client (:mod:`bridge.server.throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from bridge.server.throttle import refused
from bridge.store import Store, records

COOKIE = "bridge_admin"
LOGIN_COOKIE = "bridge_admin_login"
SESSION_SECONDS = 12 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

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
    actor: str


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``session`` is None for bearer-token calls."""

    actor: str
    session: Session | None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


class AdminAuth:
    """The admin tokens with their holders' names, their session signers, and the store where ended sessions are
    remembered (None: only in this process, for a test of the signatures alone)."""

    def __init__(self, named_tokens: Iterable[tuple[str, str]], store: Store | None = None) -> None:
        self.tokens = [(name, token) for name, token in named_tokens if token]
        self.store = store
        self._signers = {_fingerprint(t): _signer(t) for _name, t in self.tokens}
        self._names = {_fingerprint(t): name for name, t in self.tokens}
        self._revoked: set[str] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def holder(self, presented: str | None) -> str | None:
        """The name of the admin whose token was presented, or None."""
        found = self.matching_token(str(presented)) if presented else None
        return None if found is None else self._names[_fingerprint(found)]

    def open_session(self, token: str) -> tuple[str, Session]:
        """A new session for a caller who presented ``token``: the cookie value and the session."""
        fingerprint = _fingerprint(token)
        session = Session(secrets.token_urlsafe(16), secrets.token_urlsafe(24), fingerprint, self._names[fingerprint])
        signed = self._signers[fingerprint].dumps({"sid": session.sid, "csrf": session.csrf})
        return f"{fingerprint}.{signed}", session

    def matching_token(self, presented: str) -> str | None:
        found = None
        for _name, token in self.tokens:  # every token compared, in constant time each
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
        if not isinstance(data, dict) or self._ended(str(data.get("sid"))):
            return None
        return Session(str(data.get("sid")), str(data.get("csrf")), fingerprint, self._names[fingerprint])

    def end(self, session: Session) -> None:
        """Log out: the session id is kept in the store until the session would have expired anyway."""
        if self.store is None:
            self._revoked.add(session.sid)
            return
        with self.store.begin() as conn:
            records.revoke_admin_session(conn, self.store, session.sid, expires_at=time.time() + SESSION_SECONDS)

    def _ended(self, sid: str) -> bool:
        if self.store is None:
            return sid in self._revoked
        with self.store.begin() as conn:
            return records.admin_session_revoked(conn, sid)


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
    checked = getattr(request.state, "admin_principal", None)
    if isinstance(checked, Principal):  # :func:`gate` checked it already, before the body
        return checked
    auth = auth_of(request)
    name = auth.holder(bearer.credentials) if bearer is not None else None
    if name is not None:
        return Principal(name, None)
    session = auth.session(cookie)
    if session is None:
        raise refused(request, "admin", "admin token required", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS and not csrf_matches(request.headers.get("x-csrf-token"), session):
        raise HTTPException(403, {"error": "missing or wrong X-CSRF-Token"})
    return Principal(session.actor, session)


def page_principal(request: Request) -> Principal:
    """The pages' gate: a bearer token or a session; anyone else is sent to the login form."""
    checked = getattr(request.state, "admin_principal", None)
    if isinstance(checked, Principal):
        return checked
    principal = _principal(request, auth_of(request))
    if principal is None:
        raise HTTPException(303, "login required", headers={"Location": "/admin/login"})
    return principal


def _principal(request: Request, auth: AdminAuth) -> Principal | None:
    header = request.headers.get("authorization", "")
    name = auth.holder(header[7:].strip()) if header.lower().startswith("bearer ") else None
    if name is not None:
        return Principal(name, None)
    session = auth.session(request.cookies.get(COOKIE))
    return None if session is None else Principal(session.actor, session)


async def gate(scope: Scope) -> Response | None:
    """Run by :class:`bridge.server.limits.RequestLimits` before the body is read (API calls and form posts):
    the same checks as :func:`api_principal` and :func:`page_principal`, answered from the headers alone."""
    request = Request(scope)
    principal = await run_in_threadpool(_principal, request, auth_of(request))  # a session is looked up
    api = request.url.path.startswith("/admin/api/")
    if principal is None:
        return _unauthenticated(request, api=api)
    if api and _session_write_without_csrf(request, principal):
        return JSONResponse({"detail": {"error": "missing or wrong X-CSRF-Token"}}, status_code=403)
    scope.setdefault("state", {})["admin_principal"] = principal
    return None


def _unauthenticated(request: Request, *, api: bool) -> Response:
    """The API answers 401 (429 past the client's budget); a form post goes back to the login form. A credential
    that was presented and is wrong counts against the client."""
    presented = bool(request.headers.get("authorization") or request.cookies.get(COOKIE))
    if not (api or presented):
        return RedirectResponse("/admin/login", status_code=303)
    denied = refused(request, "admin", "admin token required", headers={"WWW-Authenticate": "Bearer"})
    if not api and denied.status_code == 401:
        return RedirectResponse("/admin/login", status_code=303)
    return JSONResponse({"detail": denied.detail}, status_code=denied.status_code, headers=denied.headers)


def _session_write_without_csrf(request: Request, principal: Principal) -> bool:
    if principal.session is None or request.method in SAFE_METHODS:
        return False
    return not csrf_matches(request.headers.get("x-csrf-token"), principal.session)


def check_form_csrf(principal: Principal, form: dict[str, str]) -> None:
    """A form post made with a session must carry that session's CSRF token."""
    if principal.session is not None and not csrf_matches(form.get("csrf"), principal.session):
        raise HTTPException(403, "the form has expired or did not come from this page; reload it and try again")
