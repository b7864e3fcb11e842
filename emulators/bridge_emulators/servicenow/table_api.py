"""Table API handlers: ``/api/now[/v1|/v2]/table/{table}[/{sys_id}]``.

ServiceNowDocs ``markdown/api-reference/rest-apis/c_TableAPI.md``: GET list (``sysparm_query``,
``sysparm_limit`` default 10000, ``sysparm_offset``, ``Link`` and ``X-Total-Count`` headers; v1 answers 404
to an empty result, v2 an empty array), GET one, POST (201 + ``Location``), PUT/PATCH (200), DELETE (204),
``X-no-response-body``. ``sysparm_input_display_value``, ``sysparm_suppress_auto_sys_field``,
``sysparm_view``, ``sysparm_no_count`` and ``sysparm_query_no_domain`` are accepted and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from .errors import BadRequest, OperationFailed, RecordNotFound
from .messages import Request, Response, error_response, json_response
from .render import Renderer, RenderOptions
from .schema import TableSchema

if TYPE_CHECKING:
    from .app import ServiceNowApp

DEFAULT_LIMIT = 10000


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    """An integer query parameter; a missing or malformed one falls back to the default."""
    try:
        return int(params.get(name, ""))
    except ValueError:
        return default


def combined_query(params: Mapping[str, str], schema: TableSchema) -> str:
    """``sysparm_query`` plus the name-value pair filters (``&active=true``) the docs allow."""
    terms = [params.get("sysparm_query", "")]
    terms += [f"{k}={v}" for k, v in params.items() if not k.startswith("sysparm_") and schema.has(k)]
    return "^".join(t for t in terms if t)


def link_header(request: Request, offset: int, limit: int, total: int) -> str:
    """first/prev/next/last page links, keeping the other query parameters, as the platform sends them."""
    kept = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)]
    kept = [(k, v) for k, v in kept if k not in ("sysparm_offset", "sysparm_limit")]

    def url(at: int) -> str:
        query = urlencode([*kept, ("sysparm_limit", str(limit)), ("sysparm_offset", str(at))])
        return f"{request.base_url}{request.path}?{query}"

    pages = [("first", 0)]
    if offset > 0:
        pages.append(("prev", max(offset - limit, 0)))
    if offset + limit < total:
        pages.append(("next", offset + limit))
    pages.append(("last", max((total - 1) // limit * limit, 0)))
    return ",".join(f'<{url(at)}>;rel="{rel}"' for rel, at in pages)


def list_records(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET a page of records."""
    schema = app.state.schema(args["table"])
    params = request.params
    limit = _int_param(params, "sysparm_limit", DEFAULT_LIMIT)
    offset = max(_int_param(params, "sysparm_offset", 0), 0)
    query = combined_query(params, schema)
    total, rows = app.state.page(schema.name, query, user=request.user, offset=offset, limit=max(limit, 0))
    if not rows and args.get("version") == "v1":
        raise RecordNotFound()
    renderer = Renderer(app.state, schema, RenderOptions.from_params(params, request.base_url))
    headers = [("X-Total-Count", str(total))]
    suppress = params.get("sysparm_suppress_pagination_header", "false").lower() == "true"
    if limit > 0 and not suppress:
        headers.append(("Link", link_header(request, offset, limit, total)))
    return json_response(200, {"result": [renderer.render(r) for r in rows]}, headers)


def get_record(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET one record by sys_id."""
    schema = app.state.schema(args["table"])
    row = app.state.resolve(schema.name, args["sys_id"])
    if row is None:
        raise RecordNotFound()
    return _one(app, request, schema, row, 200)


def create_record(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST a new record: 201 with its Location."""
    table = args["table"]
    values = _body(request)
    if app.state.has_table(table) or not app.state.allow_new_tables:
        app.state.schema(table)
    _require_write(app, request, "Insert")
    row = app.state.insert(table, values, user=request.user)
    location = f"{request.base_url}/api/now/table/{table}/{row['sys_id']}"
    return _one(app, request, app.state.schema(table), row, 201, [("Location", location)])


def update_record(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """PUT or PATCH a record (both update only the fields sent)."""
    schema = app.state.schema(args["table"])
    values = _body(request)
    _require_write(app, request, "Update")
    row = app.state.update(schema.name, args["sys_id"], values, user=request.user)
    return _one(app, request, app.state.schema(schema.name), row, 200)


def delete_record(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """DELETE a record: 204 with no body."""
    schema = app.state.schema(args["table"])
    if app.state.resolve(schema.name, args["sys_id"]) is None:
        raise RecordNotFound("deletion")
    _require_write(app, request, "Delete")
    app.state.delete(schema.name, args["sys_id"], user=request.user)
    return Response(204)


def _one(
    app: ServiceNowApp,
    request: Request,
    schema: TableSchema,
    row: Mapping[str, str],
    status: int,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """A single-record answer, or no body when the caller sent X-no-response-body: true."""
    if request.header("x-no-response-body").lower() == "true":
        return Response(status, b"", headers or [])
    renderer = Renderer(app.state, schema, RenderOptions.from_params(request.params, request.base_url))
    return json_response(status, {"result": renderer.render(row)}, headers or [])


def _body(request: Request) -> Mapping[str, object]:
    """The JSON object a write carries; 400 for anything else."""
    try:
        body = request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("Exception while reading request", f"The payload is not valid JSON: {exc}") from exc
    if isinstance(body, list):
        raise BadRequest("Exception while reading request", "Multiple record insertion is not supported")
    if not isinstance(body, dict):
        raise BadRequest("Exception while reading request", "The payload must be a JSON object")
    return body


def _require_write(app: ServiceNowApp, request: Request, action: str) -> None:
    """403 for users whose roles only allow reading."""
    if not app.state.can_write(request.user):
        raise OperationFailed(f"ACL Exception {action} Failed due to security constraints")


def not_found_resource() -> Response:
    """The platform's answer to a URI no API serves."""
    return error_response(400, "Requested URI does not represent any resource", None)
