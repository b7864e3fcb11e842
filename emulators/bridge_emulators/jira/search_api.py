"""JQL search, in both forms Jira Cloud has had.

* ``GET|POST /rest/api/2/search`` (offset paging: ``startAt``, ``maxResults`` up to 100, ``total``; navigable
  fields by default): https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/
  Atlassian has since retired it on Cloud in favour of the next one (CHANGE-2046); Data Center still has it.
* ``GET|POST /rest/api/2/search/jql`` (the "enhanced" search: ``nextPageToken`` / ``isLast``, no total, only
  ``id`` unless ``fields`` are asked for, and a query without a condition is refused as unbounded).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import BadRequest
from .messages import Request, Response, json_response

if TYPE_CHECKING:
    from .app import JiraApp

MAX_RESULTS = 100


def legacy_search(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Offset-paged search."""
    query = _query(request)
    start = _int(query.get("startAt"), 0, "startAt")
    limit = min(_int(query.get("maxResults"), 50, "maxResults"), MAX_RESULTS)
    issues = app.state.search(str(query.get("jql") or ""), user=request.user)
    render = app.renderer(request)
    fields = _fields(query.get("fields")) or ["*navigable"]
    page = [render.issue(i, fields) for i in issues[start : start + limit]]
    payload = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(issues), "issues": page}
    return json_response(200, payload)


def enhanced_search(app: JiraApp, request: Request, args: Mapping[str, str]) -> Response:
    """Token-paged search."""
    query = _query(request)
    jql = str(query.get("jql") or "")
    start = _offset(query.get("nextPageToken"), jql)
    limit = min(_int(query.get("maxResults"), 50, "maxResults"), MAX_RESULTS)
    issues = app.state.search(jql, user=request.user, bounded=True)
    render = app.renderer(request)
    fields = _fields(query.get("fields")) or []
    page = []
    for issue in issues[start : start + limit]:
        rendered = render.issue(issue, fields)
        page.append(rendered if fields else {"id": rendered["id"]})
    payload: dict[str, Any] = {"issues": page, "isLast": start + limit >= len(issues)}
    if not payload["isLast"]:
        payload["nextPageToken"] = _token(start + limit, jql)
    return json_response(200, payload)


def _query(request: Request) -> dict[str, Any]:
    """GET parameters or the POST body, as one mapping (``fields`` kept as every given value)."""
    if request.method == "POST":
        return request.json_object()
    params: dict[str, Any] = dict(request.params)
    if "fields" in params:
        params["fields"] = request.all_params("fields")
    return params


def _fields(value: Any) -> list[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    return [name.strip() for item in values for name in str(item).split(",") if name.strip()]


def _int(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return max(0, int(value))
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"The '{name}' parameter must be a number") from exc


def _digest(jql: str) -> str:
    return hashlib.sha256(jql.encode()).hexdigest()[:12]


def _token(offset: int, jql: str) -> str:
    raw = json.dumps({"o": offset, "q": _digest(jql)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: Any, jql: str) -> int:
    """The offset a nextPageToken stands for; 400 if it is not one of ours or belongs to another query."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))
        if data["q"] != _digest(jql):
            raise ValueError("token of another query")
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("The provided next page token is invalid or expired.") from exc
