"""``GET /nav_to.do?uri=<table>.do?sys_id=<id>``: the address a person opens a record at, as a plain HTML page
of the record's fields, so a link from the bridge's admin page to a record (a case or incident number) leads
somewhere on the emulator as it does on a real instance. Read-only; the same credentials as the API."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .messages import Request, Response

if TYPE_CHECKING:
    from .app import ServiceNowApp

_URI = re.compile(r"^/?(?P<table>[A-Za-z0-9_]+)\.do\?(?:.*&)?sys_id=(?P<sys_id>[0-9A-Za-z]+)")


def record_page(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    found = _URI.match(request.params.get("uri", ""))
    if found is None:
        return _page(
            400, "Not a record address", "<p>Expected <code>?uri=&lt;table&gt;.do?sys_id=&lt;id&gt;</code>.</p>"
        )
    table, sys_id = found.group("table"), found.group("sys_id")
    record = app.state.get(table, sys_id) if app.state.has_table(table) else None
    if record is None:
        return _page(404, "Record not found", f"<p>No {html.escape(table)} record {html.escape(sys_id)}.</p>")
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in sorted(record.items())
    )
    title = record.get("number") or sys_id
    return _page(200, f"{table} {title}", f"<table>{rows}</table>")


def _page(status: int, title: str, content: str) -> Response:
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    return Response(status, body.encode(), [("Content-Type", "text/html; charset=utf-8")])
