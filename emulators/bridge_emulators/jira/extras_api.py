"""REST v2 issue endpoints beyond the bridge's own: create by issue type, assignee, watchers, remote links and
entity properties (https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-
issue-post, ...-issue-issueidorkey-assignee-put, api-group-issue-watchers/, -issue-remote-links/, -issue-properties/).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import BadRequest
from .issue_api import rich_text_in
from .messages import Request, Response, empty_response, json_response
from .model import RemoteLink

if TYPE_CHECKING:
    from .app import JiraApp


def create_issue(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue ``{"fields": {project, issuetype, summary, ...}}``: 201 ``{id, key, self}``."""
    body = request.json_object()
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise BadRequest("Can not deserialize 'fields': expected a JSON object")
    issue = app.state.create_issue(rich_text_in(request, fields), reporter=request.user)
    api = app.renderer(request).api
    return json_response(201, {"id": str(issue.id), "key": issue.key, "self": f"{api}/issue/{issue.id}"})


def assign(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """PUT /rest/api/2/issue/{key}/assignee ``{"accountId": ... | null}``: 204."""
    body = request.json_object()
    if "accountId" not in body:
        raise BadRequest(errors={"assignee": "Specify the accountId of the assignee, or null to unassign."})
    account = body["accountId"]
    app.state.assign(args["key"], None if account is None else str(account), actor=request.user)
    return empty_response()


def get_watchers(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/watchers."""
    issue = app.state.get(args["key"])
    render = app.renderer(request)
    watchers = [render.user(u) for u in issue.watchers]
    mine = request.user in issue.watchers
    payload = {"self": f"{render.api}/issue/{issue.key}/watchers", "isWatching": mine, "watchCount": len(watchers)}
    return json_response(200, {**payload, "watchers": watchers})


def add_watcher(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue/{key}/watchers with the account id as a JSON string (the caller when empty): 204."""
    text = request.body.decode("utf-8", "replace").strip()
    try:
        account = json.loads(text) if text else request.user.account_id
    except json.JSONDecodeError as exc:
        raise BadRequest("The body must be the watcher's account id as a JSON string.") from exc
    if not isinstance(account, str):
        raise BadRequest("The body must be the watcher's account id as a JSON string.")
    app.state.watch(args["key"], account)
    return empty_response()


def remove_watcher(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """DELETE /rest/api/2/issue/{key}/watchers?accountId=...: 204."""
    account = request.params.get("accountId")
    if not account:
        raise BadRequest("accountId is required.")
    app.state.watch(args["key"], account, watching=False)
    return empty_response()


def get_remote_links(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/remotelink (``globalId`` filters)."""
    issue = app.state.get(args["key"])
    wanted = request.params.get("globalId")
    links = [_link(app, request, issue.key, r) for r in issue.remote_links if not wanted or r.global_id == wanted]
    return json_response(200, links)


def add_remote_link(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /rest/api/2/issue/{key}/remotelink: 201 ``{id, self}`` (200 when the globalId existed)."""
    before = {r.id for r in app.state.get(args["key"]).remote_links}
    link = app.state.add_remote_link(args["key"], request.json_object(), actor=request.user)
    self_url = f"{app.renderer(request).api}/issue/{args['key']}/remotelink/{link.id}"
    return json_response(200 if link.id in before else 201, {"id": link.id, "self": self_url})


def _link(app: JiraApp, request: Request, key: str, link: RemoteLink) -> dict[str, object]:
    body: dict[str, object] = {
        "id": link.id,
        "self": f"{app.renderer(request).api}/issue/{key}/remotelink/{link.id}",
        "object": {"url": link.url, "title": link.title},
    }
    if link.global_id:
        body["globalId"] = link.global_id
    if link.relationship:
        body["relationship"] = link.relationship
    return body


def property_keys(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/properties."""
    issue = app.state.get(args["key"])
    api = app.renderer(request).api
    keys = [{"key": k, "self": f"{api}/issue/{issue.key}/properties/{k}"} for k in issue.properties]
    return json_response(200, {"keys": keys})


def get_property(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issue/{key}/properties/{name}: ``{key, value}``."""
    return json_response(200, {"key": args["name"], "value": app.state.get_property(args["key"], args["name"])})


def set_property(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """PUT /rest/api/2/issue/{key}/properties/{name} with any JSON: 201 when new, 200 when replaced."""
    try:
        value = json.loads(request.body.decode("utf-8")) if request.body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("The property value must be valid JSON.") from exc
    new = app.state.set_property(args["key"], args["name"], value, actor=request.user)
    return Response(201 if new else 200)


def delete_property(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """DELETE /rest/api/2/issue/{key}/properties/{name}: 204."""
    app.state.delete_property(args["key"], args["name"])
    return empty_response()
