"""`POST /webhooks/jira?route=<partner route>`: a Jira partner's signed webhook (issue and comment events).

Jira signs the raw body with the webhook's secret: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`; the route's
`options.webhook_secret` must match, else 401. A delivery only says "this issue changed": it is stored under
the same key the JQL poller uses (`<issue key>:<updated>`, see bridge.sources.jira_poller) when the body carries
`issue.fields.updated`, so a change seen both ways, or delivered three times, is one event; the flow reads the
issue's current state when it plans. The answer comes after the event is durable in the inbox.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bridge.adapters._jira_support import parse_time, verify_webhook, version_of
from bridge.runtime import Runtime
from bridge.server.door import json_object
from bridge.server.webhooks import accepted_response, auth_failed, read_body, reject
from bridge.sources.jira_poller import jira_event

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
        key, version = parse(body)
        event = jira_event(route, source, key, version)
        accepted = (await asyncio.wrap_future(runtime.ingest_future([event])))[0]
        return accepted_response(accepted)


def parse(body: bytes) -> tuple[str, str]:
    """(issue key, version) of a webhook body; 400 naming the field when it is not one."""
    data: dict[str, Any] = json_object(body, source=SOURCE).value
    if not isinstance(data.get("webhookEvent"), str) or not data["webhookEvent"]:
        raise _bad("webhookEvent is required (a non-empty string)", "$.webhookEvent")
    issue = data.get("issue")
    if not isinstance(issue, dict):
        raise _bad("issue is required (an object)", "$.issue")
    key = issue.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 255:
        raise _bad("issue.key is required (a non-empty string)", "$.issue.key")
    return key.strip(), _version(data, issue)


def _version(data: dict[str, Any], issue: dict[str, Any]) -> str:
    """The poller's version (``updated``) when the body has it; else the comment, else the event time."""
    updated = (issue.get("fields") or {}).get("updated") if isinstance(issue.get("fields"), dict) else None
    if isinstance(updated, str):
        try:
            return version_of(parse_time(updated))
        except ValueError:
            raise _bad("issue.fields.updated is not a Jira time", "$.issue.fields.updated") from None
    comment = data.get("comment")
    if isinstance(comment, dict) and comment.get("id"):
        return f"comment-{comment['id']}"
    return f"{data['webhookEvent']}-{data.get('timestamp', '')}"


def _bad(message: str, path: str) -> Exception:
    return reject(400, message, source=SOURCE, reason="invalid", path=path)
