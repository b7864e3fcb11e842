"""The dead-letter pages under `/admin/dead-letters`: the list (filter by route and status, paged), a dead letter
with its payload, the target's answer and every attempt, Retry (one, or every open one of a route) and Discard.

A discard asks first, on a page of its own (no JavaScript), and needs a reason; the reason and the admin's name
are kept on the dead letter and in the audit (:func:`bridge.ops.dead_letters.discard`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bridge.errors import InputError
from bridge.ops import dead_letters
from bridge.server.admin.auth import Principal, check_form_csrf
from bridge.server.admin.pages import MAX_ID, Before, PageAdmin, Renderer, read_form, redirect, safe_back


def build_router(pages: Renderer) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    _letter_pages(router, pages)
    _discard_pages(router, pages)
    return router


def _letter_pages(router: APIRouter, pages: Renderer) -> None:
    runtime = pages.runtime

    @router.get("/dead-letters")
    def letters(
        request: Request, admin: PageAdmin, route: str | None = None, status: str = "open", before: Before = None
    ) -> Response:
        route = route if route in runtime.routes else None
        chosen = status if status in dead_letters.STATUSES else None
        with runtime.store.begin() as conn:
            rows = dead_letters.list_letters(conn, route=route, status=chosen, before=before, limit=50)
        older = _older("/admin/dead-letters", route=route, status=status, before=rows[-1].id) if len(rows) == 50 else ""
        return pages.page(
            request,
            "dead_letters.html",
            admin,
            letters=rows,
            route=route,
            status=status,
            older=older,
            route_names=list(runtime.routes),
            back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        )

    @router.get("/dead-letters/{letter_id}")
    def letter(request: Request, letter_id: int, admin: PageAdmin) -> Response:
        with runtime.store.begin() as conn:
            detail = dead_letters.get_detail(conn, letter_id) if 0 < letter_id <= MAX_ID else None
        if detail is None:
            return pages.page(request, "not_found.html", admin, code=404, what=f"dead letter {letter_id}")
        return pages.page(request, "dead_letter.html", admin, d=detail, back=f"/admin/dead-letters/{letter_id}")

    @router.post("/dead-letters/{letter_id}/retry")
    async def retry(request: Request, letter_id: int, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        if not 0 < letter_id <= MAX_ID:
            raise HTTPException(404, "no such dead letter")
        result = (await run_in_threadpool(dead_letters.retry, runtime.store, [letter_id], actor=admin.actor))[0]
        runtime.processor.wake()
        runtime.dispatcher.wake()
        return redirect(safe_back(form.get("back"), f"/admin/dead-letters/{letter_id}"), result.message)

    @router.post("/dead-letters")
    async def retry_route(request: Request, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        route = form.get("route", "")
        if route not in runtime.routes:
            return redirect("/admin/dead-letters", "choose a route to retry its open dead letters")
        results = await run_in_threadpool(dead_letters.retry_route, runtime.store, route, actor=admin.actor)
        runtime.processor.wake()
        runtime.dispatcher.wake()
        ok = sum(r.ok for r in results)
        return redirect(f"/admin/dead-letters?route={quote(route)}", f"{ok} of {len(results)} dead letters retried")


def _discard_pages(router: APIRouter, pages: Renderer) -> None:
    """Discarding asks first: a page with the dead letter, a reason to give, and the Discard button (no
    JavaScript, so the confirmation is a page of its own). A post without a reason gets that page again (400)."""
    runtime = pages.runtime

    def confirm(request: Request, admin: Principal, letter_id: int, back: str, *, error: str = "") -> Response:
        with runtime.store.begin() as conn:
            detail = dead_letters.get_detail(conn, letter_id) if 0 < letter_id <= MAX_ID else None
        if detail is None:
            return pages.page(request, "not_found.html", admin, code=404, what=f"dead letter {letter_id}")
        if detail.letter.status != "open":
            return redirect(back, f"dead letter {letter_id} is {detail.letter.status}, not open")
        return pages.page(
            request, "dead_letter_discard.html", admin, code=400 if error else 200, d=detail, back=back, error=error
        )

    @router.get("/dead-letters/{letter_id}/discard")
    def discard_form(request: Request, letter_id: int, admin: PageAdmin, back: str = "") -> Response:
        return confirm(request, admin, letter_id, safe_back(back, f"/admin/dead-letters/{letter_id}"))

    @router.post("/dead-letters/{letter_id}/discard")
    async def discard(request: Request, letter_id: int, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        back = safe_back(form.get("back"), f"/admin/dead-letters/{letter_id}")
        try:
            reason = dead_letters.discard_reason(form.get("reason"))
        except InputError as exc:
            return await run_in_threadpool(confirm, request, admin, letter_id, back, error=exc.message)
        if not 0 < letter_id <= MAX_ID:
            raise HTTPException(404, "no such dead letter")
        do = dead_letters.discard
        result = (await run_in_threadpool(do, runtime.store, [letter_id], actor=admin.actor, reason=reason))[0]
        return redirect(back, result.message)


def _older(base: str, **params: Any) -> str:
    return f"{base}?{urlencode({k: v for k, v in params.items() if v is not None})}"
