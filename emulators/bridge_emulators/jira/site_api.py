"""What a client reads about the site before it works with issues: server info, fields, projects, priorities,
resolutions, statuses, issue types, and the Service Management desks and request types with their forms.

REST v2: https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-server-info/, -issue-fields/,
-projects/, -issue-priorities/, -issue-resolutions/, -workflow-statuses/, -issue-types/; Service Management:
https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-servicedesk/ (paged ``values``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .messages import Request, Response, json_response
from .model import ISSUE_TYPES, PRIORITIES, RESOLUTIONS, STATUSES, RequestType

if TYPE_CHECKING:
    from .app import JiraApp

JSON = dict[str, Any]
PROJECT_ID = "10000"
#: system fields: id -> (name, schema type, searchable by JQL)
SYSTEM_FIELDS: Mapping[str, tuple[str, str]] = {
    "summary": ("Summary", "string"),
    "description": ("Description", "string"),
    "status": ("Status", "status"),
    "priority": ("Priority", "priority"),
    "labels": ("Labels", "array"),
    "created": ("Created", "datetime"),
    "updated": ("Updated", "datetime"),
    "resolution": ("Resolution", "resolution"),
    "resolutiondate": ("Resolved", "datetime"),
    "reporter": ("Reporter", "user"),
    "assignee": ("Assignee", "user"),
    "project": ("Project", "project"),
    "issuetype": ("Issue Type", "issuetype"),
    "comment": ("Comment", "comments-page"),
    "attachment": ("Attachment", "array"),
    "watches": ("Watchers", "watches"),
}


def server_info(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/serverInfo: Cloud or Data Center, as the emulator was started."""
    cloud = app.state.deployment == "cloud"
    version = ("1001.0.0-SNAPSHOT", [1001, 0, 0]) if cloud else ("10.3.0", [10, 3, 0])
    render = app.renderer(request)
    payload = {
        "baseUrl": render.base,
        "version": version[0],
        "versionNumbers": version[1],
        "deploymentType": "Cloud" if cloud else "Server",
        "buildNumber": 100279,
        "serverTime": render.time(app.state.clock()),
        "serverTitle": "Jira",
        "defaultLocale": {"locale": "en_GB"},
    }
    return json_response(200, payload)


def fields(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/field: every system and custom field with its JQL clause names."""
    result = [_field(fid, name, kind) for fid, (name, kind) in SYSTEM_FIELDS.items()]
    for custom in app.state.custom_fields:
        clauses = [f"cf[{custom.number}]", custom.name]
        schema = {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}
        result.append({**_field(custom.id, custom.name, "string"), "custom": True, "clauseNames": clauses})
        result[-1]["schema"] = {**schema, "customId": int(custom.number)}
    return json_response(200, result)


def _field(field_id: str, name: str, kind: str) -> JSON:
    return {
        "id": field_id,
        "key": field_id,
        "name": name,
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [field_id],
        "schema": {"type": kind, "system": field_id},
    }


def project(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/project/{key or id}."""
    if args["key"].upper() not in (app.state.project_key, PROJECT_ID):
        raise NotFound("No project could be found with key '{}'.".format(args["key"]))
    return json_response(200, _project(app, request, full=True))


def projects(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/project: the one project."""
    return json_response(200, [_project(app, request, full=False)])


def _project(app: JiraApp, request: Request, *, full: bool) -> JSON:
    render = app.renderer(request)
    body: JSON = {
        "self": f"{render.api}/project/{PROJECT_ID}",
        "id": PROJECT_ID,
        "key": app.state.project_key,
        "name": "MHHS Partner Desk",
        "projectTypeKey": "service_desk",
        "simplified": False,
        "style": "classic",
    }
    if full:
        body["issueTypes"] = [_issue_type(render.api, i) for i in ISSUE_TYPES]
        body["lead"] = render.user(app.state.users[0])
    return body


def _issue_type(api: str, type_id: str) -> JSON:
    name = ISSUE_TYPES[type_id]
    return {"self": f"{api}/issuetype/{type_id}", "id": type_id, "name": name, "subtask": False}


def issue_types(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/issuetype."""
    return json_response(200, [_issue_type(app.renderer(request).api, i) for i in ISSUE_TYPES])


def priorities(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/priority."""
    api = app.renderer(request).api
    return json_response(200, [{"self": f"{api}/priority/{i}", "id": i, "name": n} for n, i in PRIORITIES.items()])


def resolutions(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/resolution."""
    api = app.renderer(request).api
    body = [{"self": f"{api}/resolution/{i}", "id": i, "name": n, "description": ""} for n, i in RESOLUTIONS.items()]
    return json_response(200, body)


def statuses(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/status."""
    render = app.renderer(request)
    return json_response(200, [render.status(s) for s in STATUSES])


def service_desks(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/servicedesk."""
    return json_response(200, _page(request, [_desk(app, request)]))


def service_desk(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/servicedesk/{id}."""
    _require_desk(app, args["desk"])
    return json_response(200, _desk(app, request))


def request_types(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/servicedesk/{id}/requesttype."""
    _require_desk(app, args["desk"])
    types = [_request_type(app, request, t) for t in app.state.request_types.values()]
    return json_response(200, _page(request, types))


def request_type_fields(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/servicedeskapi/servicedesk/{id}/requesttype/{type}/field: the request form."""
    _require_desk(app, args["desk"])
    form = app.state.request_types.get(args["type"])
    if form is None:
        raise NotFound(f"The request type ID '{args['type']}' does not exist.")
    names = {c.id: c.name for c in app.state.custom_fields}
    shown = [_form_field(n, names.get(n) or SYSTEM_FIELDS[n][0], n in form.required) for n in form.fields]
    return json_response(
        200, {"requestTypeFields": shown, "canRaiseOnBehalfOf": True, "canAddRequestParticipants": True}
    )


def _form_field(field_id: str, name: str, required: bool) -> JSON:
    kind = SYSTEM_FIELDS.get(field_id, (name, "string"))[1]
    return {"fieldId": field_id, "name": name, "required": required, "validValues": [], "jiraSchema": {"type": kind}}


def _desk(app: JiraApp, request: Request) -> JSON:
    base = app.renderer(request).base
    return {
        "id": app.state.service_desk_id,
        "projectId": PROJECT_ID,
        "projectName": "MHHS Partner Desk",
        "projectKey": app.state.project_key,
        "_links": {"self": f"{base}/rest/servicedeskapi/servicedesk/{app.state.service_desk_id}"},
    }


def _request_type(app: JiraApp, request: Request, form: RequestType) -> JSON:
    base = app.renderer(request).base
    return {
        "id": form.id,
        "name": form.name,
        "description": "",
        "helpText": "",
        "issueTypeId": form.issue_type,
        "serviceDeskId": app.state.service_desk_id,
        "groupIds": [],
        "_links": {"self": f"{base}/rest/servicedeskapi/servicedesk/{app.state.service_desk_id}/requesttype/{form.id}"},
    }


def _require_desk(app: JiraApp, desk: str) -> None:
    if desk not in (app.state.service_desk_id, app.state.project_key):
        raise NotFound(f"The service project ID '{desk}' does not exist.")


def _page(request: Request, values: Sequence[JSON]) -> JSON:
    """A Service Management page (``start``/``limit``/``isLastPage``/``values``)."""
    start = int(request.params.get("start", "0") or 0)
    limit = int(request.params.get("limit", "50") or 50)
    chosen = list(values)[start : start + limit]
    return {
        "size": len(chosen),
        "start": start,
        "limit": limit,
        "isLastPage": start + limit >= len(values),
        "values": chosen,
    }


def user_search(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/user/search?query=: users whose name, email or account id contains the query."""
    query = (request.params.get("query") or request.params.get("accountId") or "").strip().lower()
    render = app.renderer(request)
    found = [u for u in app.state.users if query and query in f"{u.display_name} {u.email} {u.account_id}".lower()]
    return json_response(200, [render.user(u) for u in found])


def user(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET /rest/api/2/user?accountId=."""
    wanted = request.params.get("accountId", "")
    found = next((u for u in app.state.users if u.account_id == wanted), None)
    if found is None:
        raise NotFound(f"The user with account id '{wanted}' does not exist.")
    return json_response(200, app.renderer(request).user(found))
