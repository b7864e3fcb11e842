"""The admin JSON API under `/admin/api`: routes, pause/resume, dead letters, events, links, mapping preview,
partner response times.

Each endpoint is a thin shell over :mod:`bridge.ops` (the CLI calls the same functions). Inputs are bounded by
their declared types (ids fit a BIGINT, route names match the configuration's pattern), so malformed requests
get 422 from validation, unknown things 404, and a dead letter that is no longer open 409. A discard without a
reason gets 400. Every change is audited under the name of the admin whose token (or session) made it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from bridge.errors import InputError
from bridge.ops import browse, clocks, dead_letters, partner_response, preview, routes
from bridge.ops.dead_letters import MAX_REASON, ActionResult, DeadLetter, DeadLetterDetail
from bridge.runtime import Runtime
from bridge.server.admin.auth import Principal, api_principal

MAX_ID = 2**63 - 1
ROUTE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
LetterId = Annotated[int, Path(ge=1, le=MAX_ID, description="A dead letter's id.")]
RouteName = Annotated[str, Path(pattern=ROUTE_PATTERN, description="A configured route.")]
RouteFilter = Annotated[str | None, Query(pattern=ROUTE_PATTERN, description="Only this route.")]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Older than this id (the next page).")]
Limit = Annotated[int, Query(ge=1, le=500)]
Admin = Annotated[Principal, Depends(api_principal)]


class PauseState(BaseModel):
    route: str
    paused: bool
    was_paused: bool


class RetryAllResult(BaseModel):
    route: str
    retried: int
    failed: int
    results: list[ActionResult]


class DiscardRequest(BaseModel):
    reason: str | None = Field(
        None,
        description=f"Why nobody will retry it (required; at most {MAX_REASON} characters).",
        examples=["a duplicate of INC0012345, fixed by hand"],
    )


class PreviewRequest(BaseModel):
    route: str = Field(description="An azure-alert route.", max_length=64)
    alert: dict[str, Any] = Field(description="The alert as Azure Monitor would post it.")


def build_router(runtime: Runtime) -> APIRouter:
    refused: dict[int | str, dict[str, Any]] = {
        401: {"description": "no valid token"},
        429: {"description": "too many failed attempts; see Retry-After"},
    }
    router = APIRouter(prefix="/admin/api", tags=["admin"], responses=refused)
    _route_endpoints(router, runtime)
    _dead_letter_endpoints(router, runtime)
    _browse_endpoints(router, runtime)
    return router


def _route_endpoints(router: APIRouter, runtime: Runtime) -> None:
    @router.get("/routes", summary="Routes with their health")
    def list_routes(_admin: Admin) -> list[routes.RouteHealth]:
        with runtime.store.begin() as conn:
            return routes.health(conn, runtime.routes)

    @router.post("/routes/{route}/pause", summary="Pause a route (events keep queueing)", responses={404: {}})
    def pause(route: RouteName, admin: Admin) -> PauseState:
        return _set_paused(runtime, route, True, admin)

    @router.post("/routes/{route}/resume", summary="Resume a paused route", responses={404: {}})
    def resume(route: RouteName, admin: Admin) -> PauseState:
        return _set_paused(runtime, route, False, admin)


def _set_paused(runtime: Runtime, route: str, paused: bool, admin: Principal) -> PauseState:
    try:
        was = routes.set_paused(runtime.store, runtime.routes, route, paused, actor=admin.actor)
    except routes.UnknownRouteError as exc:
        raise HTTPException(404, {"error": str(exc)}) from exc
    _wake(runtime)
    return PauseState(route=route, paused=paused, was_paused=was)


def _dead_letter_endpoints(router: APIRouter, runtime: Runtime) -> None:
    @router.get("/dead-letters", summary="Dead letters, newest first")
    def list_letters(
        _admin: Admin,
        route: RouteFilter = None,
        status: Literal["open", "retried", "discarded"] | None = None,
        before: Before = None,
        limit: Limit = 100,
    ) -> list[DeadLetter]:
        with runtime.store.begin() as conn:
            return dead_letters.list_letters(conn, route=route, status=status, before=before, limit=limit)

    @router.get("/dead-letters/{letter_id}", summary="A dead letter with payload, answer, attempts")
    def show(letter_id: LetterId, _admin: Admin) -> DeadLetterDetail:
        with runtime.store.begin() as conn:
            detail = dead_letters.get_detail(conn, letter_id)
        if detail is None:
            raise HTTPException(404, {"error": f"no dead letter {letter_id}"})
        return detail

    @router.post("/dead-letters/retry", summary="Retry every open dead letter of a route", responses={404: {}})
    def retry_route(route: Annotated[str, Query(pattern=ROUTE_PATTERN)], admin: Admin) -> RetryAllResult:
        if route not in runtime.routes:
            raise HTTPException(404, {"error": f"no route named {route!r} is configured"})
        results = dead_letters.retry_route(runtime.store, route, actor=admin.actor)
        _wake(runtime)
        ok = sum(r.ok for r in results)
        return RetryAllResult(route=route, retried=ok, failed=len(results) - ok, results=results)

    @router.post("/dead-letters/{letter_id}/retry", summary="Retry one dead letter", responses={404: {}, 409: {}})
    def retry(letter_id: LetterId, admin: Admin) -> ActionResult:
        result = _one(dead_letters.retry(runtime.store, [letter_id], actor=admin.actor)[0])
        _wake(runtime)
        return result

    @router.post(
        "/dead-letters/{letter_id}/discard",
        summary="Discard one dead letter, saying why",
        responses={400: {"description": "no reason given"}, 404: {}, 409: {}},
    )
    def discard(
        letter_id: LetterId, admin: Admin, body: Annotated[DiscardRequest | None, Body()] = None
    ) -> ActionResult:
        try:
            reason = dead_letters.discard_reason(body.reason if body else None)
        except InputError as exc:
            raise HTTPException(400, {"error": exc.message, "path": exc.path}) from exc
        return _one(dead_letters.discard(runtime.store, [letter_id], actor=admin.actor, reason=reason)[0])


def _one(result: ActionResult) -> ActionResult:
    if result.ok:
        return result
    if result.message.startswith("no dead letter"):
        raise HTTPException(404, {"error": result.message})
    raise HTTPException(409, {"error": result.message})


def _browse_endpoints(router: APIRouter, runtime: Runtime) -> None:
    @router.get("/events", summary="Recent inbox events with their operations")
    def events(
        _admin: Admin,
        route: RouteFilter = None,
        status: Literal["pending", "done", "dead"] | None = None,
        before: Before = None,
        limit: Limit = 50,
    ) -> list[browse.EventSummary]:
        with runtime.store.begin() as conn:
            return browse.recent_events(conn, route=route, status=status, before=before, limit=limit)

    @router.get("/links", summary="Links naming a record id on either side")
    def links(
        _admin: Admin,
        record_id: Annotated[str, Query(alias="id", min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")],
    ) -> list[dict[str, Any]]:
        with runtime.store.begin() as conn:
            return browse.links(conn, record_id)

    @router.get("/partner-response", summary="Per partner desk: cases waiting for acknowledgement, and breaches")
    def partner_desks(_admin: Admin) -> list[partner_response.PartnerDesk]:
        return partner_response.desks_for(runtime.store, runtime.flows.values())

    @router.get("/clocks", summary="The desk's clocks: due next, breached, per priority and group; major incidents")
    def desk_clocks(_admin: Admin) -> clocks.DeskClocks:
        return clocks.desk_clocks(runtime.store)

    @router.post(
        "/preview",
        summary="The fields a route's live mapping gives for an input (an alert; an organisation or event body "
        "for a route with a field map)",
        responses={400: {"description": "the alert is not valid; `path` names the field"}, 404: {}},
    )
    def preview_alert(_admin: Admin, body: Annotated[PreviewRequest, Body()]) -> preview.Preview:
        flow = _previewable_flow(runtime, body.route)
        result = preview.preview_route(body.route, flow, body.alert)
        if result.error is not None:
            raise HTTPException(400, {"error": result.error, "path": result.path})
        return result


def _previewable_flow(runtime: Runtime, route: str) -> Any:
    if route not in preview.previewable(runtime.routes, runtime.flows):
        raise HTTPException(404, {"error": f"no route named {route!r} with a mapping to preview"})
    return runtime.flows[route]


def _wake(runtime: Runtime) -> None:
    """Requeued work is picked up now rather than at the next idle poll."""
    runtime.processor.wake()
    runtime.dispatcher.wake()
