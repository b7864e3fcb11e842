"""The Jira Service Management endpoints: create a customer request, read it, its public/internal comments.

https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/ (create request,
get request, get / create request comment: ``public`` true is shared with the customer, false is internal;
the GET takes ``public``, ``internal``, ``start``, ``limit`` and pages as ``size/start/limit/isLastPage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import BadRequest
from .messages import Request, Response, json_response

if TYPE_CHECKING:
    from .app import JiraApp


def create_request(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/servicedeskapi/request ``{serviceDeskId, requestTypeId, requestFieldValues}``: 201."""
    body = request.json_object()
    values = body.get("requestFieldValues")
    if not isinstance(values, dict):
        raise BadRequest("requestFieldValues must be a JSON object of field ids and values.")
    missing = [name for name in ("serviceDeskId", "requestTypeId") if not body.get(name)]
    if missing:
        raise BadRequest(f"{missing[0]} is required.")
    issue = app.state.create_request(
        service_desk_id=str(body["serviceDeskId"]),
        request_type_id=str(body["requestTypeId"]),
        values=values,
        reporter=request.user,
    )
    return json_response(201, app.renderer(request).request(issue))


def get_request(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/request/{key}."""
    return json_response(200, app.renderer(request).request(app.state.get(args["key"])))


def get_comments(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/request/{key}/comment?public=&internal=&start=&limit= (both kinds by default)."""
    issue = app.state.get(args["key"])
    params = request.params
    public, internal = _flag(params, "public"), _flag(params, "internal")
    start, limit = _number(params, "start", 0), max(1, min(_number(params, "limit", 50), 100))
    chosen = [c for c in issue.comments if (public if c.public else internal)]
    page = chosen[start : start + limit]
    render = app.renderer(request)
    base = f"{render.base}/rest/servicedeskapi/request/{issue.id}/comment"
    links = {"self": base, "base": render.base, "context": ""}
    if start + limit < len(chosen):
        links["next"] = f"{base}?start={start + limit}&limit={limit}"
    payload = {
        "size": len(page),
        "start": start,
        "limit": limit,
        "isLastPage": start + limit >= len(chosen),
        "values": [render.sd_comment(c, issue) for c in page],
        "_links": links,
    }
    return json_response(200, payload)


def add_comment(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/servicedeskapi/request/{key}/comment ``{body, public}``: 201 with the comment."""
    body = request.json_object()
    public = body.get("public", True)
    if not isinstance(public, bool):
        raise BadRequest("public must be true or false.")
    issue = app.state.get(args["key"])
    comment = app.state.add_comment(issue.key, body.get("body", ""), public=public, author=request.user)
    return json_response(201, app.renderer(request).sd_comment(comment, issue))


def _flag(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "true").strip().lower() != "false"


def _number(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "")
    try:
        return max(0, int(raw)) if raw else default
    except ValueError as exc:
        raise BadRequest(f"The '{name}' parameter must be a number") from exc
