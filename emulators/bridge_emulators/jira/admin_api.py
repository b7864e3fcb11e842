"""The emulator's own endpoints (no credentials, never faulted or counted), so a test or a person driving
a ``bridge-emulator jira`` process can steer it and act as the partner's agent:

* ``GET  /emulator/admin/health``                          liveness
* ``GET|POST /emulator/admin/faults``                      fault settings (POST a JSON object of changes)
* ``POST /emulator/admin/reset``                           forget every issue, count and delivery
* ``GET|DELETE /emulator/admin/stats``                     request counts
* ``GET|POST /emulator/admin/webhook``                     webhook url/secret/events; GET lists deliveries
* ``POST /emulator/admin/issues/{key}/comment``            ``{"body", "public"}`` as the partner's agent
* ``POST /emulator/admin/issues/{key}/transition``         ``{"status", "resolution"}`` as the partner's agent
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import BadRequest
from .messages import Request, Response, json_response

if TYPE_CHECKING:
    from .app import JiraApp


def health(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Liveness, the project key and the issue count."""
    return json_response(200, {"status": "ok", "project": app.state.project_key, "issues": len(app.state.issues())})


def get_faults(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """The current fault settings."""
    return json_response(200, app.faults.config.as_dict())


def set_faults(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Change some fault settings; 400 on an unknown name or a bad value."""
    try:
        app.set_faults(**request.json_object())
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"Invalid fault settings: {exc}") from exc
    return json_response(200, app.faults.config.as_dict())


def reset(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Back to an empty site (fault and webhook settings are kept)."""
    app.reset()
    return json_response(200, {"status": "reset"})


def get_stats(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """The request counters."""
    return json_response(200, app.stats.snapshot())


def clear_stats(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Zero the request counters."""
    app.stats.reset()
    return json_response(200, app.stats.snapshot())


def get_webhook(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """The webhook settings (the secret only as set / not set) and the deliveries so far."""
    config = app.webhooks.config
    deliveries = [
        {"identifier": d.identifier, "event": d.event, "attempts": d.attempts, "status": d.status, "error": d.error}
        for d in list(app.webhooks.deliveries)
    ]
    settings = {"url": config.url, "secret_set": bool(config.secret), "events": list(config.events)}
    return json_response(200, {**settings, "deliveries": deliveries})


def set_webhook(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Change the webhook url / secret / events."""
    body = request.json_object()
    unknown = set(body) - {"url", "secret", "events", "retries"}
    if unknown:
        raise BadRequest(f"Unknown webhook setting(s): {', '.join(sorted(unknown))}")
    app.configure_webhook(**body)
    return get_webhook(app, request, args)


def agent_comment(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Comment as the partner's agent."""
    body = request.json_object()
    comment = app.state.add_comment(args["key"], str(body.get("body", "")), public=bool(body.get("public", True)))
    return json_response(201, app.renderer(request).sd_comment(comment, app.state.get(args["key"])))


def agent_transition(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Move the issue to a status as the partner's agent."""
    body = request.json_object()
    issue = app.state.transition(args["key"], str(body.get("status", "")), resolution=body.get("resolution"))
    return json_response(200, app.renderer(request).issue(issue, ["status", "resolution", "updated"]))
