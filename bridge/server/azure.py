"""`POST /webhooks/azure-monitor`: the Azure Monitor action-group webhook.

Azure retries on 408, 429, 503, 504 and timeouts (up to 5 times within about a minute) and may send one alert twice
(several action groups), so the contract is: authenticate, parse and validate every schema variant (the source,
:func:`bridge.sources.webhooks.azure_alert`), store durably, answer 202 with the event id; a redelivery stores
nothing and answers 200. Bad input gets a 400 naming the field path, never a 5xx (which Azure would not retry
anyway). Two ways to authenticate: a shared token (query `?token=`, `Authorization: Bearer`, or `X-Bridge-Token`;
several accepted so one can be rotated), or Azure AD secure webhooks (a bearer JWT checked against the configured
JWKS, issuer and audience).
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bridge.config import AzureSettings
from bridge.runtime import Runtime
from bridge.server.door import json_object
from bridge.server.webhooks import (
    accepted_response,
    as_event,
    auth_failed,
    presented_token,
    read_body,
    reject,
    token_matches,
)
from bridge.sources import webhooks

log = logging.getLogger("bridge.azure")
SOURCE = "azure-monitor"


def add_routes(app: FastAPI, runtime: Runtime) -> None:
    """Mounted as a plain Starlette route: the hottest endpoint skips FastAPI's dependency machinery (about a
    third of the per-request CPU); its OpenAPI description is added by hand in :mod:`bridge.server.openapi`."""

    async def azure_monitor(request: Request) -> JSONResponse:
        if not await _authenticated(request, runtime.config.azure):  # first: route names are not for strangers
            raise auth_failed(request, "missing or wrong token", source=SOURCE)
        target_route, own_keys = _route_name(runtime, request.query_params.get("route"))
        body = await read_body(request, limit=runtime.config.server.max_body_bytes, source=SOURCE)
        decoded = json_object(body, source=SOURCE)
        event = as_event(
            SOURCE, lambda: webhooks.azure_alert(target_route, decoded.value, decoded.text, own_keys=own_keys)
        )
        accepted = (await asyncio.wrap_future(runtime.ingest_future([event])))[0]
        return accepted_response(accepted)

    app.router.add_route("/webhooks/azure-monitor", azure_monitor, methods=["POST"], include_in_schema=False)


def _route_name(runtime: Runtime, requested: str | None) -> tuple[str, bool]:
    """The route an alert is for, and whether it keeps its own redelivery keys (a further azure-alert route)."""
    every = [r for r in runtime.routes.values() if r.kind == "azure-alert"]
    routes = [r for r in every if r.name == requested] if requested else every
    if not routes:
        wanted = f" named {requested!r}" if requested else ""
        raise reject(404, f"no azure-alert route{wanted} is configured", source=SOURCE, reason="route")
    return routes[0].name, runtime.config.keeps_own_keys(routes[0].name)


async def _authenticated(request: Request, settings: AzureSettings) -> bool:
    presented = presented_token(request)
    if token_matches(presented, [t.get_secret_value() for t in settings.tokens]):
        return True
    if settings.jwks_url and presented and presented.count(".") == 2:
        # the JWKS may have to be fetched over the network: off the event loop
        return await run_in_threadpool(_valid_jwt, presented, settings)
    return False


def _valid_jwt(token: str, settings: AzureSettings) -> bool:
    """Azure AD secure webhook: signature from the JWKS, plus issuer, audience and expiry."""
    try:
        key = _jwks_client(str(settings.jwks_url)).get_signing_key_from_jwt(token)
        jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
    except (jwt.PyJWTError, OSError) as exc:
        log.warning("azure webhook JWT refused", extra={"reason": type(exc).__name__})
        return False
    return True


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
