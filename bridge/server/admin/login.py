"""`/admin/login` and `/admin/logout`: trade an admin token for a browser session, and end it.

The login form is protected against login CSRF by a double-submit nonce (a short-lived HttpOnly cookie that the
form must echo); a wrong token answers 401 with the form again, and 429 with ``Retry-After`` once the client has
failed too often (:mod:`bridge.server.throttle`: the right token is still accepted).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from bridge.server.admin.auth import COOKIE, LOGIN_COOKIE, SESSION_SECONDS, auth_of, check_form_csrf, page_principal
from bridge.server.admin.pages import SECURITY_HEADERS, Renderer, read_form, redirect
from bridge.server.throttle import refused


def build_router(pages: Renderer) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request) -> Response:
        if auth_of(request).session(request.cookies.get(COOKIE)) is not None:
            return redirect("/admin")
        return _form(request, pages)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not hmac.compare_digest(nonce.encode(), form.get("csrf", "").encode()):
            return _form(request, pages, error="The form expired; please try again.", status=403)
        auth = auth_of(request)
        token = auth.matching_token(form.get("token", "").strip())
        if token is None:
            denied = refused(request, "admin-login", "That is not an admin token.")
            error = denied.detail.get("error", "") if isinstance(denied.detail, dict) else str(denied.detail)
            response = _form(request, pages, error=error, status=denied.status_code)
            response.headers.update(denied.headers or {})
            return response
        cookie, session = auth.open_session(token)
        response = redirect("/admin", f"signed in as {session.actor}")
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_SECONDS,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/admin/login")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await read_form(request)
        try:
            admin = page_principal(request)
        except HTTPException:
            return redirect("/admin/login")
        check_form_csrf(admin, form)
        if admin.session is not None:
            auth_of(request).end(admin.session)
        response = redirect("/admin/login", "signed out")
        response.delete_cookie(COOKIE, path="/admin")
        return response

    return router


def _form(request: Request, pages: Renderer, *, error: str = "", status: int = 200) -> Response:
    """The login page with a fresh double-submit nonce."""
    nonce = secrets.token_urlsafe(24)
    response = pages.page(request, "login.html", None, code=status, error=error, login_csrf=nonce)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=900,
        path="/admin/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
