"""`POST /webhooks/servicenow`: changes pushed by a ServiceNow business rule (see contrib/servicenow/).

The body is signed: `X-Bridge-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the route's
`options.push_secret`. A pushed change is stored under the same key as the poller's (`sys_id:sys_mod_count`,
:func:`bridge.sources.webhooks.servicenow_change`), so when both paths see a change it becomes one event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bridge.runtime import Runtime
from bridge.server.door import json_object
from bridge.server.webhooks import accepted_response, as_event, auth_failed, read_body
from bridge.sources import webhooks

SOURCE = "servicenow"
_SIGNATURE_RE = re.compile(r"(?i:sha256)=(?:[0-9A-Fa-f]{64}|[A-Za-z0-9+/]{43}=)")


def add_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.post(
        "/webhooks/servicenow",
        tags=["webhooks"],
        status_code=202,
        summary="A record change pushed by a ServiceNow business rule (HMAC-signed)",
        responses={200: {"description": "already stored"}, 400: {}, 401: {}, 413: {}, 429: {}},
    )
    async def servicenow_push(request: Request, route: str) -> JSONResponse:
        settings = runtime.routes.get(route)
        secret = str(settings.options.get("push_secret", "")) if settings else ""
        header = request.headers.get("x-bridge-signature", "")
        if not signature_well_formed(header):  # before the body; an unknown route fails like a wrong signature
            raise auth_failed(request, "missing or wrong X-Bridge-Signature", source=SOURCE)
        body = await read_body(request, limit=runtime.config.server.max_body_bytes, source=SOURCE)
        if not secret or not signature_ok(body, header, secret):
            raise auth_failed(request, "missing or wrong X-Bridge-Signature", source=SOURCE)
        change = json_object(body, source=SOURCE).value
        own = runtime.config.keeps_own_keys(route)
        event = as_event(SOURCE, lambda: webhooks.servicenow_change(route, change, own_keys=own))
        accepted = (await asyncio.wrap_future(runtime.ingest_future([event])))[0]
        return accepted_response(accepted)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_well_formed(header: str) -> bool:
    """`sha256=` then 64 hex digits or 44 base64 characters, ASCII only: checkable before reading the body."""
    return _SIGNATURE_RE.fullmatch(header.strip()) is not None


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """`sha256=` then the HMAC in hex, or in base64 (what ServiceNow's GlideCertificateEncryption gives)."""
    scheme, _, presented = header.strip().partition("=")
    if scheme.lower() != "sha256" or not presented or not presented.isascii():
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(presented.lower(), digest.hex()) or hmac.compare_digest(
        presented, base64.b64encode(digest).decode()
    )
