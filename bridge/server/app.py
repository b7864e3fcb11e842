"""The FastAPI application: health, readiness, metrics and the webhooks of each flow.

Every webhook follows the same contract: authenticate, validate (4xx naming what is wrong), store durably,
then answer 202 with the event id; a redelivery stores nothing new and answers 200 with the first id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from bridge import __version__
from bridge.runtime import Runtime
from bridge.server import admin, azure, jira, openapi, servicenow, status
from bridge.server.door import json_object
from bridge.server.limits import RequestLimits
from bridge.server.throttle import FailedAuthLimiter
from bridge.server.webhooks import accepted_response, auth_failed, presented_token, read_body, token_matches
from bridge.sources import webhooks


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The app; with ``manage_runtime`` its lifespan starts and stops the engine threads."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await run_in_threadpool(runtime.stop, runtime.config.server.shutdown_grace_seconds)

    app = FastAPI(
        title="MHHS bridge",
        version=__version__,
        description="ServiceNow integration middleware for the MHHS cross-party service desk.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    server = runtime.config.server
    app.add_middleware(RequestLimits, max_body_bytes=server.max_body_bytes)
    app.state.auth_limiter = FailedAuthLimiter(
        burst=server.auth_failures_burst, per_minute=server.auth_failures_per_minute
    )
    _health_routes(app, runtime)
    _forward_routes(app, runtime)
    azure.add_routes(app, runtime)
    servicenow.add_routes(app, runtime)
    jira.add_routes(app, runtime)
    admin.add_routes(app, runtime)
    status.add_routes(app, runtime)
    openapi.install(app)
    return app


def _health_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"], summary="Store reachable and schema current")
    def readyz() -> JSONResponse:
        reachable = runtime.store.ping()
        migrations = runtime.store.migration_status() if reachable else "unreachable"
        ready = reachable and migrations == "current"
        body = {"status": "ready" if ready else "not ready", "store": reachable, "migrations": migrations}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _forward_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.post(
        "/webhooks/forward/{route}",
        tags=["webhooks"],
        status_code=202,
        summary="Accept a JSON event for a `forward` route",
        responses={200: {"description": "redelivery"}, 400: {}, 401: {}, 413: {}, 429: {}},
    )
    async def forward(route: str, request: Request) -> JSONResponse:
        settings = runtime.routes.get(route)
        is_forward = settings is not None and settings.kind == "forward"
        tokens = [str(t) for t in settings.options.get("tokens", [])] if settings is not None and is_forward else []
        if settings is None or not token_matches(presented_token(request), tokens):
            raise auth_failed(request, "missing or wrong token", source="forward")  # an unknown route alike
        body = await read_body(request, limit=runtime.config.server.max_body_bytes, source="forward")
        decoded = json_object(body, source="forward")
        key = request.headers.get("idempotency-key")
        event = webhooks.forward_event(route, settings.options, decoded.value, decoded.text, idempotency_key=key)
        accepted = (await asyncio.wrap_future(runtime.ingest_future([event])))[0]
        return accepted_response(accepted)
