"""`GET /openapi.json`: FastAPI's generated description plus the routes it cannot see.

The Azure Monitor webhook is a plain Starlette route (`include_in_schema=False`, for speed; see
:mod:`bridge.server.azure`), so its path, parameters, body and answers are added here by hand. The result is
built once, on first request, and cached by FastAPI as usual.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

EVENT_ACCEPTED = {
    "type": "object",
    "required": ["status", "event_id"],
    "properties": {
        "status": {"type": "string", "enum": ["accepted", "duplicate"]},
        "event_id": {"type": "integer", "description": "The inbox event id (the first one, for a redelivery)."},
    },
}
WEBHOOK_ERROR = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "object",
            "properties": {
                "error": {"type": "string", "description": "What is wrong."},
                "path": {"type": "string", "description": "The JSON path of the offending field ($ = the body)."},
            },
        }
    },
}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


AZURE_MONITOR: dict[str, Any] = {
    "post": {
        "tags": ["webhooks"],
        "summary": "Accept an Azure Monitor alert (action-group webhook)",
        "description": (
            "Every schema Azure sends is accepted: the common alert schema for each monitoring service and the "
            "older non-common payloads. The alert is stored durably before the answer. Authenticate with a token "
            "from `azure.tokens` (`?token=`, `Authorization: Bearer` or `X-Bridge-Token`) or an Azure AD secure-"
            "webhook JWT (`Authorization: Bearer`). Nothing is stored on a 4xx."
        ),
        "operationId": "azure_monitor_webhook",
        "parameters": [
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The shared webhook token (Azure's action groups can only send it in the URL).",
            },
            {
                "name": "route",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "An azure-alert route; default the first one configured.",
            },
            {
                "name": "X-Bridge-Token",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The shared webhook token, as a header.",
            },
        ],
        "requestBody": {
            "required": True,
            "description": "The alert as Azure Monitor posts it (common alert schema or a legacy payload).",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        },
        "responses": {
            "202": _answer("Stored; the event id", EVENT_ACCEPTED),
            "200": _answer("A redelivery: nothing new stored; the first event's id", EVENT_ACCEPTED),
            "400": _answer("Not a valid alert; `path` names the field", WEBHOOK_ERROR),
            "401": _answer("No token, or a wrong one", WEBHOOK_ERROR),
            "404": _answer("No azure-alert route (of that name) is configured", WEBHOOK_ERROR),
            "413": _answer("Body over `server.max_body_bytes`", WEBHOOK_ERROR),
            "429": _answer("Too many failed authentications from this client; see `Retry-After`", WEBHOOK_ERROR),
        },
    }
}


def build_schema(app: FastAPI) -> dict[str, Any]:
    """The generated schema with the hand-described routes added."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=[
            {"name": "webhooks", "description": "Inbound events: stored durably, then answered 202 (200 if seen)."},
            {"name": "admin", "description": "Operating the bridge; needs an admin token or an admin session."},
            {"name": "operations", "description": "Health, readiness and metrics."},
        ],
    )
    if any(getattr(route, "path", None) == "/webhooks/azure-monitor" for route in app.routes):
        schema.setdefault("paths", {})["/webhooks/azure-monitor"] = AZURE_MONITOR
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`build_schema` at `/openapi.json` (once per app; a second call does nothing)."""
    if getattr(app.state, "openapi_installed", False):
        return
    app.state.openapi_installed = True

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
