"""The public status page and its Atom feed: the industry circular's public entries (Ops Manual 5.20-5.22).

``GET /status`` (HTML) and ``GET /status/feed.atom`` are served without authentication, on purpose: they carry
only what the desk already made public. Each entry is written by the `service-desk` flow from the incident's
number, its service, open or resolved, and the desk's public updates (customer-visible comments), MPANs removed;
never a work note, a description or a caller. Both are read-only, bounded (the newest 50 entries) and cacheable
for a minute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from bridge.runtime import Runtime
from bridge.store import clocks

TEMPLATES = Path(__file__).resolve().parent / "templates" / "status"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=60",
}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "atom")),
        undefined=jinja2.StrictUndefined,
    )


def add_routes(app: FastAPI, runtime: Runtime) -> None:
    env = _environment()

    def entries() -> list[dict[str, Any]]:
        with runtime.store.begin() as conn:
            return clocks.public_entries(conn)

    @app.get("/status", tags=["status"], summary="Public status of major incidents (industry circular)")
    async def status_page() -> HTMLResponse:
        found = await run_in_threadpool(entries)
        return HTMLResponse(env.get_template("page.html").render(entries=found), headers=HEADERS)

    @app.get("/status/feed.atom", tags=["status"], summary="The public status entries as an Atom feed")
    async def status_feed(request: Request) -> Response:
        found = await run_in_threadpool(entries)
        # the feed's identity is the public address (server.public_url), not however this request reached us
        base = (runtime.config.server.public_url or str(request.base_url)).rstrip("/")
        updated = found[0]["updated_at"] if found else datetime.now(UTC).isoformat(timespec="seconds")
        text = env.get_template("feed.atom").render(entries=found, base=base, updated=updated)
        return Response(text, media_type="application/atom+xml; charset=utf-8", headers=HEADERS)
