"""`POST /webhooks/jira?route=<partner route>`: a Jira partner's signed webhook (issue and comment events).

Jira signs the raw body with the webhook's secret: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`; the route's
`options.webhook_secret` must match, else 401. A delivery only says "this issue changed": it is stored under the
same key the JQL poller uses (`<issue key>:<updated>`, :func:`bridge.sources.webhooks.jira_issue_event`) when the
body carries `issue.fields.updated`, so a change seen both ways, or delivered three times, is one event; the flow
reads the issue's current state when it plans. The answer comes after the event is durable in the inbox.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bridge.adapters.jira import verify_webhook
from bridge.runtime import Runtime
from bridge.server.door import json_object
from bridge.server.webhooks import accepted_response, as_event, auth_failed, read_body
from bridge.sources import webhooks

SOURCE = "jira"
_SIGNATURE_RE = re.compile(r"(?i:sha256)=[0-9A-Fa-f]{64}")


def add_routes(app: FastAPI, runtime: Runtime) -> None:
    @app.post(
        "/webhooks/jira",
        tags=["webhooks"],
        status_code=202,
        summary="A Jira partner's issue or comment event (HMAC-signed, X-Hub-Signature)",
        responses={200: {"description": "already stored"}, 400: {}, 401: {}, 413: {}, 429: {}},
    )
    async def jira_webhook(request: Request, route: str) -> JSONResponse:
        settings = runtime.routes.get(route)
        options = settings.options if settings else {}
        secret = str(options.get("webhook_secret") or "")
        source = str((options.get("poll") or {}).get("source") or "")
        header = request.headers.get("x-hub-signature", "")
        if not _SIGNATURE_RE.fullmatch(header.strip()):  # before the body; an unknown route fails alike
            raise auth_failed(request, "missing or wrong X-Hub-Signature", source=SOURCE)
        body = await read_body(request, limit=runtime.config.server.max_body_bytes, source=SOURCE)
        if not secret or not source or not verify_webhook(body, header, secret):
            raise auth_failed(request, "missing or wrong X-Hub-Signature", source=SOURCE)
        data = json_object(body, source=SOURCE).value
        event = as_event(SOURCE, lambda: webhooks.jira_issue_event(route, source, data))
        accepted = (await asyncio.wrap_future(runtime.ingest_future([event])))[0]
        return accepted_response(accepted)
