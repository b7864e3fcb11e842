"""Attachment API handlers: ``/api/now[/v1]/attachment...``.

ServiceNowDocs ``markdown/api-reference/rest-apis/c_AttachmentAPI.md``: POST ``/file`` with the raw bytes
and ``table_name``/``table_sys_id``/``file_name`` parameters (Content-Type mandatory; 400 when a parameter
is missing, 404 when the record does not exist), multipart POST ``/upload``, GET the list (``sysparm_query``,
``sysparm_limit`` default 1000, ``sysparm_offset``), GET metadata, GET ``/file`` (bytes plus
``X-Attachment-Metadata``), DELETE (204). Metadata carries ``size_bytes``, ``hash`` (SHA-256 of the
content) and ``download_link``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

from .errors import BadRequest, OperationFailed, RecordNotFound
from .messages import Request, Response, json_response
from .paths import Row
from .table_api import _int_param

if TYPE_CHECKING:
    from .app import ServiceNowApp

DEFAULT_LIMIT = 1000
ATTACHMENT = "sys_attachment"


def metadata(app: ServiceNowApp, request: Request, row: Row) -> dict[str, str]:
    """An attachment record as the Attachment API returns it."""
    data = dict(row)
    data["download_link"] = f"{request.base_url}/api/now/attachment/{row['sys_id']}/file"
    for field, name_field in (("sys_created_by", "created_by_name"), ("sys_updated_by", "updated_by_name")):
        user = app.state.resolve("sys_user", app.state.user_sys_id(row.get(field, "")))
        data[name_field] = user.get("name", "") if user else row.get(field, "")
    return data


def list_attachments(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET attachment metadata matching ``sysparm_query``."""
    params = request.params
    limit = max(_int_param(params, "sysparm_limit", DEFAULT_LIMIT), 0)
    offset = max(_int_param(params, "sysparm_offset", 0), 0)
    query = params.get("sysparm_query", "")
    total, rows = app.state.page(ATTACHMENT, query, user=request.user, offset=offset, limit=limit)
    result = [metadata(app, request, r) for r in rows]
    return json_response(200, {"result": result}, [("X-Total-Count", str(total))])


def get_attachment(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET one attachment's metadata."""
    row = _existing(app, args["sys_id"])
    return json_response(200, {"result": metadata(app, request, row)})


def get_file(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """GET the bytes, with the metadata in X-Attachment-Metadata."""
    row = _existing(app, args["sys_id"])
    content = app.state.attachment_content(row["sys_id"]) or b""
    headers = [
        ("Content-Type", row.get("content_type") or "application/octet-stream"),
        ("X-Attachment-Metadata", json.dumps(metadata(app, request, row), separators=(",", ":"))),
    ]
    return Response(200, content, headers)


def delete_attachment(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """DELETE an attachment: 204."""
    _existing(app, args["sys_id"], "deletion")
    _require_write(app, request)
    app.state.delete_attachment(args["sys_id"])
    return Response(204)


def post_file(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST raw bytes as an attachment: 201 with Location."""
    params = request.params
    missing = [p for p in ("table_name", "table_sys_id", "file_name") if not params.get(p)]
    if missing:
        raise BadRequest("Missing parameter(s): " + ", ".join(missing), None)
    content_type = request.header("content-type")
    if not content_type:
        raise BadRequest("Content-Type header is mandatory to post file attachments", None)
    _require_write(app, request)
    table, record, name = params["table_name"], params["table_sys_id"], params["file_name"]
    return _created(app, request, table, record, name, request.body, content_type)


def post_upload(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST a multipart/form-data upload (table_name, table_sys_id, then the file part)."""
    content_type = request.header("content-type")
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest("Content-Type must be multipart/form-data", None)
    fields, file_part = _parse_multipart(content_type, request.body)
    missing = [p for p in ("table_name", "table_sys_id") if not fields.get(p)]
    if missing or file_part is None:
        raise BadRequest("Missing parameter(s): " + ", ".join(missing or ["file"]), None)
    _require_write(app, request)
    file_name = file_part.get_filename() or "attachment"
    payload = file_part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    part_type = file_part.get_content_type() or "application/octet-stream"
    return _created(app, request, fields["table_name"], fields["table_sys_id"], file_name, content, part_type)


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], Message | None]:
    """Form fields and the (last) file part of a multipart body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    file_part: Message | None = None
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_filename():
            file_part = part
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode("utf-8", "replace").strip()
    return fields, file_part


def _created(
    app: ServiceNowApp,
    request: Request,
    table: str,
    table_sys_id: str,
    file_name: str,
    content: bytes,
    content_type: str,
) -> Response:
    row = app.state.add_attachment(
        table, table_sys_id, file_name, content, content_type=content_type, user=request.user
    )
    location = f"{request.base_url}/api/now/attachment/{row['sys_id']}"
    return json_response(201, {"result": metadata(app, request, row)}, [("Location", location)])


def _existing(app: ServiceNowApp, sys_id: str, action: str = "retrieval") -> Row:
    row = app.state.resolve(ATTACHMENT, sys_id)
    if row is None:
        raise RecordNotFound(action)
    return row


def _require_write(app: ServiceNowApp, request: Request) -> None:
    if not app.state.can_write(request.user):
        raise OperationFailed("ACL Exception Insert Failed due to security constraints")
