"""The admin surface: a JSON API under `/admin/api` and server-rendered pages under `/admin`.

Mounted by :func:`add_routes` only when `admin.tokens` (or `BRIDGE_ADMIN_TOKEN`) names at least one token;
without one every `/admin` URL answers 404, as if the surface did not exist. Modules: :mod:`.auth` (tokens,
sessions, CSRF), :mod:`.api` (JSON), :mod:`.pages`, :mod:`.dead_letter_pages` and :mod:`.login` (HTML); the
mapping editor's :mod:`.mappings_pages` and :mod:`.mappings_api`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import Response

from bridge.ops.metrics import watch_routes
from bridge.runtime import Runtime
from bridge.server.admin.auth import AdminAuth, gate
from bridge.server.limits import add_gate

log = logging.getLogger("bridge.admin")

__all__ = ["add_routes"]


def add_routes(app: FastAPI, runtime: Runtime) -> None:
    """Mount the admin API and pages on ``app`` (once; a second call does nothing)."""
    if getattr(app.state, "admin_installed", False):
        return
    app.state.admin_installed = True
    watch_routes(runtime.store)
    auth = AdminAuth(runtime.config.admin.named_tokens(), runtime.store)
    app.state.admin_auth = auth
    if not auth.enabled:
        log.info("admin surface disabled: no admin.tokens configured")
        return
    # imported only when mounted: a bridge without admin tokens starts without them (see the cold start benchmark)
    from bridge.server.admin import api, dead_letter_pages, login, mappings_api, mappings_pages, pages

    # credentials before any body: the API, and every form post but the login form (which carries the token)
    add_gate(app.state, "/admin/api/", gate)
    add_gate(app.state, "/admin/", gate, methods={"POST", "PUT", "PATCH", "DELETE"}, exempt={"/admin/login"})
    env = pages.environment()
    renderer = pages.Renderer(runtime, env)
    app.include_router(api.build_router(runtime))
    app.include_router(login.build_router(renderer))
    app.include_router(pages.build_router(runtime, env))
    app.include_router(dead_letter_pages.build_router(renderer))
    app.include_router(mappings_api.build_router(runtime))
    app.include_router(mappings_pages.build_router(renderer))
    css = (pages.TEMPLATES / "admin.css").read_bytes()

    @app.get("/admin/static/admin.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
