"""The admin pages under `/admin`: server-rendered HTML (Jinja2, autoescaped), small CSS, no JavaScript.

Every change is a POST form carrying the session's CSRF token, answered by a redirect (303) to a page that shows
the outcome, so a reload never repeats an action. Pages read through :mod:`bridge.ops` with bounded, indexed
queries; the same functions back the JSON API and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

import jinja2
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bridge.ops import browse, clocks, overview, partner_response, preview, routes
from bridge.ops.times import format_iso, format_time
from bridge.runtime import Runtime
from bridge.server.admin import charts
from bridge.server.admin.auth import Principal, check_form_csrf, page_principal

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "admin"
FLASH_COOKIE = "bridge_admin_flash"
MAX_FORM_BYTES = 1_048_576
MAX_ID = 2**63 - 1
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
PageAdmin = Annotated[Principal, Depends(page_principal)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["time"] = format_time
    env.filters["iso_time"] = format_iso
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


class Renderer:
    def __init__(self, runtime: Runtime, env: jinja2.Environment) -> None:
        self.runtime = runtime
        self.env = env

    def page(self, request: Request, name: str, admin: Principal | None, *, code: int = 200, **ctx: Any) -> Response:
        """Render a page with the layout's shared context, showing (and clearing) any flash message."""
        flash = request.cookies.get(FLASH_COOKIE)
        html = self.env.get_template(name).render(
            csrf=admin.csrf if admin else "",
            logged_in=bool(admin and admin.session),
            admin_name=admin.actor if admin else "",
            flash=unquote(flash) if flash else "",
            path=request.url.path,
            **ctx,
        )
        response = HTMLResponse(html, status_code=code, headers=SECURITY_HEADERS)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/admin")
        return response


def redirect(to: str, message: str = "") -> RedirectResponse:
    """303 to ``to`` (a page of ours), carrying a one-shot message for it to show."""
    response = RedirectResponse(safe_back(to), status_code=303)
    if message:
        response.set_cookie(
            FLASH_COOKIE, quote(message[:500]), max_age=60, path="/admin", httponly=True, samesite="strict"
        )
    return response


def safe_back(to: str | None, default: str = "/admin") -> str:
    """Only our own pages: never an open redirect to another site."""
    if not to or not to.startswith("/admin") or to.startswith("//") or "\\" in to:
        return default
    return to


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form body, bounded in size (no multipart: the pages never upload files)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise HTTPException(413, f"form over {MAX_FORM_BYTES} bytes")
        chunks.append(chunk)
    return dict(parse_qsl(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True))


def build_router(runtime: Runtime, env: jinja2.Environment) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    pages = Renderer(runtime, env)
    _overview_pages(router, pages)
    _preview_pages(router, pages)
    return router


def _overview_pages(router: APIRouter, pages: Renderer) -> None:
    runtime = pages.runtime

    @router.get("")
    def overview_page(request: Request, admin: PageAdmin) -> Response:
        view = overview.overview(runtime.store, runtime.config, runtime.routes, runtime.flows.values())
        if runtime.documents is not None:  # notice an edited mapping file even on a quiet route
            runtime.documents.watch_files()
        for flow in runtime.flows.values():
            flow.reload_if_changed()
        reload_errors = {name: flow.reload_error for name, flow in runtime.flows.items() if flow.reload_error}
        return pages.page(
            request,
            "overview.html",
            admin,
            view=view,
            routes=view.routes,
            charts=_overview_charts(view),
            reload_errors=reload_errors,
            refresh=REFRESH_SECONDS,
        )

    @router.post("/routes/{route}/{action}")
    async def pause_resume(request: Request, route: str, action: str, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        if action not in ("pause", "resume") or route not in runtime.routes:
            raise HTTPException(404, "no such route or action")
        await run_in_threadpool(
            routes.set_paused, runtime.store, runtime.routes, route, action == "pause", actor=admin.actor
        )
        runtime.processor.wake()
        runtime.dispatcher.wake()
        return redirect("/admin", f"route {route} {'paused' if action == 'pause' else 'resumed'}")

    @router.get("/events")
    def events(
        request: Request,
        admin: PageAdmin,
        route: str | None = None,
        status: str | None = None,
        before: Before = None,
        ticks: bool = False,
    ) -> Response:
        route = route if route in runtime.routes else None
        status = status if status in ("pending", "done", "dead") else None
        hide = () if ticks else TICK_SOURCES
        with runtime.store.begin() as conn:
            rows = browse.recent_events(conn, route=route, status=status, before=before, limit=50, hide_sources=hide)
        shown = 1 if ticks else None
        older = (
            _page_link("/admin/events", route=route, status=status, ticks=shown, before=rows[-1].id)
            if len(rows) == 50
            else ""
        )
        return pages.page(
            request,
            "events.html",
            admin,
            events=rows,
            route=route,
            status=status,
            older=older,
            route_names=list(runtime.routes),
            first_page=before is None,
            ticks=ticks,
            newest=_page_link("/admin/events", route=route, status=status, ticks=shown),
            toggle_ticks=_page_link("/admin/events", route=route, status=status, ticks=None if ticks else 1),
            refresh=REFRESH_SECONDS if before is None else None,
        )

    @router.get("/links")
    def links(request: Request, admin: PageAdmin, record_id: Annotated[str, Query(alias="id")] = "") -> Response:
        record_id = record_id.strip()[:255]
        found: list[dict[str, Any]] = []
        if record_id:
            with runtime.store.begin() as conn:
                found = browse.links(conn, record_id)
        return pages.page(request, "links.html", admin, record_id=record_id, links=found)

    @router.get("/partners")
    def partner_desks(request: Request, admin: PageAdmin, desk: str = "") -> Response:
        desks = partner_response.desks_for(runtime.store, runtime.flows.values())
        links = overview.RecordLinks(runtime.config)
        central = links.partner_route()
        return pages.page(
            request,
            "partner_response.html",
            admin,
            desks=desks,
            chosen=desk[:64],
            case_url=lambda sys_id: links.url(central, sys_id),
        )

    @router.get("/clocks")
    def desk_clocks(request: Request, admin: PageAdmin) -> Response:
        links = overview.RecordLinks(runtime.config)
        return pages.page(request, "clocks.html", admin, view=clocks.desk_clocks(runtime.store), record_url=links.url)


#: the scheduled clock ticks (bridge/sources/ticks.py): one per route per minute, hidden on the events page unless
#: asked for, so the events people sent are not lost among them
TICK_SOURCES = ("partner-case:tick", "service-desk:tick")
#: the overview and the events page reload themselves this often (a meta refresh; forms never do)
REFRESH_SECONDS = 30


def _page_link(base: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}?{query}" if query else base


def _overview_charts(view: overview.Overview) -> dict[str, Any]:
    """The overview's SVG charts: four hourly bar charts of the last day, and breaches per desk per week."""
    starts = [b.start for b in view.day.buckets]
    day = [
        ("queued", "Queue depth", "waiting at most (sampled every 5 minutes)", "waiting"),
        ("delivered", "Deliveries", "operations delivered", "delivered"),
        ("retried", "Retries", "attempts that will be retried", "retries"),
        ("dead", "Dead letters", "dead letters created", "dead letters"),
    ]
    hourly = [
        {
            "name": name,
            "title": title,
            "hint": hint,
            "total": sum(v or 0 for v in view.day.series(name)),
            "svg": charts.hourly_bars(name, title, starts, view.day.series(name), unit),
        }
        for name, title, hint, unit in day
    ]
    rows = list(view.breaches_by_week)
    cells = [
        charts.Cell(row, week, n, f"{row}, {week}: {n} breaches")
        for row, counts in view.breaches_by_week.items()
        for week, n in counts.items()
    ]
    weekly = charts.heatmap("breaches", "Breaches per desk per week", rows, view.weeks, cells)
    return {"hourly": hourly, "breaches": weekly, "breach_total": sum(c.value for c in cells)}


def _preview_pages(router: APIRouter, pages: Renderer) -> None:
    runtime = pages.runtime
    azure_routes = preview.previewable(runtime.routes, runtime.flows)  # azure-alert and DSL-mapped routes

    @router.get("/preview")
    def preview_form(request: Request, admin: PageAdmin) -> Response:
        return pages.page(request, "preview.html", admin, route_names=azure_routes, chosen="", alert="", result=None)

    @router.post("/preview")
    async def preview_result(request: Request, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        route, alert = form.get("route", ""), form.get("alert", "")
        result = None
        if route in azure_routes:
            result = await run_in_threadpool(preview.preview_route, route, runtime.flows[route], alert)
        return pages.page(
            request,
            "preview.html",
            admin,
            route_names=azure_routes,
            chosen=route,
            alert=alert,
            result=result,
            code=200 if result is None or result.error is None else 400,
        )
