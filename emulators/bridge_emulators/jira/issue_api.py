"""The Jira platform REST v2 endpoints a bridge uses: issue, comment, transitions, attachments, myself.

https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/ (get / edit issue),
.../api-group-issue-comments/, .../api-group-issues/#api-rest-api-2-issue-issueidorkey-transitions-get,
.../api-group-issue-attachments/ (multipart field ``file``, ``X-Atlassian-Token: no-check`` required),
.../api-group-myself/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import multipart
from .errors import BadRequest, Forbidden
from .messages import Request, Response, empty_response, json_response

if TYPE_CHECKING:
    from .app import JiraApp

#: A REST v2 comment with this property value is internal (an agent-only note) in Service Management.
INTERNAL_PROPERTY = "sd.public.comment"


def _fields_param(request: Request) -> list[str] | None:
    values = request.all_params("fields")
    return [f for v in values for f in v.split(",")] if values else None


def get_issue(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}?fields=...&expand=transitions (all fields by default)."""
    issue = app.state.get(args["key"])
    expand = request.params.get("expand", "").split(",")
    return json_response(200, app.renderer(request).issue(issue, _fields_param(request), expand=expand))


def edit_issue(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """PUT /rest/api/2/issue/{key}: 204, or 200 with the issue when ``returnIssue=true``."""
    body = request.json_object()
    fields, update = body.get("fields") or {}, body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise BadRequest("Can not deserialize 'fields' / 'update': expected JSON objects")
    issue = app.state.edit(args["key"], fields=fields, update=update, actor=request.user)
    if request.params.get("returnIssue", "").lower() == "true":
        return json_response(200, app.renderer(request).issue(issue))
    return empty_response()


def get_comments(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/comment: startAt / maxResults paging, oldest first."""
    issue = app.state.get(args["key"])
    start, limit = _int(request, "startAt", 0), min(_int(request, "maxResults", 100), 100)
    comments = list(issue.comments)
    if request.params.get("orderBy", "") in ("-created", "-+created"):
        comments.reverse()
    page = comments[start : start + limit]
    render = app.renderer(request)
    payload = {
        "startAt": start,
        "maxResults": limit,
        "total": len(comments),
        "comments": [render.comment(c, issue) for c in page],
    }
    return json_response(200, payload)


def add_comment(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue/{key}/comment: public unless the ``sd.public.comment`` property says internal."""
    body = request.json_object()
    internal = any(
        isinstance(p, dict) and p.get("key") == INTERNAL_PROPERTY and (p.get("value") or {}).get("internal") is True
        for p in body.get("properties") or []
    )
    issue = app.state.get(args["key"])
    comment = app.state.add_comment(issue.key, body.get("body", ""), public=not internal, author=request.user)
    return json_response(201, app.renderer(request).comment(comment, issue))


def get_transitions(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/transitions: those available from the current status."""
    render = app.renderer(request)
    transitions = [render.transition(t) for t in app.state.transitions(args["key"])]
    return json_response(200, {"expand": "transitions", "transitions": transitions})


def do_transition(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue/{key}/transitions ``{"transition": {"id"}, "fields", "update"}``: 204."""
    body = request.json_object()
    transition = body.get("transition")
    if not isinstance(transition, dict) or not transition.get("id"):
        raise BadRequest("Missing 'transition' identifier")
    key = app.state.get(args["key"]).key
    app.state.apply_transition(key, str(transition["id"]), fields=body.get("fields") or {}, actor=request.user)
    for operation in (body.get("update") or {}).get("comment") or []:
        added: Any = operation.get("add") if isinstance(operation, dict) else None
        if isinstance(added, dict):
            app.state.add_comment(key, str(added.get("body", "")), public=True, author=request.user)
    return empty_response()


def add_attachments(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue/{key}/attachments (multipart, field ``file``): 200 with the new attachments."""
    if request.header("x-atlassian-token").lower() not in ("no-check", "nocheck"):
        raise Forbidden("XSRF check failed")
    key = app.state.get(args["key"]).key
    files = [p for p in multipart.parse(request.body, request.header("content-type")) if p.name == "file"]
    if not files or any(not p.filename for p in files):
        raise BadRequest("No file was attached: the multipart field must be named 'file' and have a filename.")
    render = app.renderer(request)
    made = [app.state.attach(key, p.filename or "", p.data, p.content_type, author=request.user) for p in files]
    return json_response(200, [render.attachment(a) for a in made])


def get_attachment(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/attachment/{id}: metadata."""
    return json_response(200, app.renderer(request).attachment(app.state.attachment(args["id"])))


def get_attachment_content(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/attachment/content/{id}: the bytes."""
    attachment = app.state.attachment(args["id"])
    return Response(200, attachment.content, [("Content-Type", attachment.mime_type)])


def myself(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/myself: the caller, with the time zone JQL dates are read in."""
    return json_response(200, {**app.renderer(request).user(request.user), "locale": "en_GB"})


def _int(request: Request, name: str, default: int) -> int:
    raw = request.params.get(name, "")
    try:
        return max(0, int(raw)) if raw else default
    except ValueError as exc:
        raise BadRequest(f"The '{name}' parameter must be a number") from exc
