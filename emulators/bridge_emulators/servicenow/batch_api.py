"""Batch API handler: ``POST /api/now/v1/batch``.

ServiceNowDocs ``markdown/api-reference/rest-apis/batch-api.md``: the body carries ``batch_request_id`` and
``rest_requests`` (``id``, ``method``, ``url``, ``headers`` as name/value objects, base64 ``body``,
``exclude_response_headers``); the answer echoes the batch id and lists ``serviced_requests`` (``id``,
``status_code``, ``status_text``, ``headers``, base64 ``body``, ``execution_time`` in ms, ``error_message``)
and ``unserviced_requests`` (the ids of items not run). Each item runs as the calling user, through the same
handlers as a direct call; authentication and the rate limit apply once, to the batch.

Limits: when a batch reaches a size or processing limit the platform cancels the rest and lists them as
unserviced. Here that happens after ``batch_limit`` items (a fault knob; 0 = none), once the batch has run
``batch_time_budget`` seconds (the REST Batch API request timeout quota, 30 s), and when an item draws a
"stall" fault (it holds the batch past its quota). An item that draws "500" or "503" gets that answer alone;
the others run. "drop" is a connection fault: it is drawn for the whole call only.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import BadRequest
from .faults import FAULT_RESPONSES
from .messages import Request, Response, error_response, json_response

if TYPE_CHECKING:
    from .app import ServiceNowApp

MAX_ITEM_BYTES = 5 * 1024 * 1024  # glide.rest.batch.max.inputSize default


def batch(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """Run every item of a batch and answer with their responses."""
    try:
        body = request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("Exception while reading request", str(exc)) from exc
    items = body.get("rest_requests") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadRequest("rest_requests is required", "The batch body must carry a rest_requests array")
    serviced, unserviced = _run(app, request, items)
    app.stats.batch_items(len(items), len(unserviced))
    payload = {
        "batch_request_id": str(body.get("batch_request_id", "")) if isinstance(body, dict) else "",
        "serviced_requests": serviced,
        "unserviced_requests": unserviced,
    }
    return json_response(200, payload)


def _run(app: ServiceNowApp, outer: Request, items: list[object]) -> tuple[list[dict[str, object]], list[str]]:
    """Serve items in order until a limit or a cut-short fault; the rest are unserviced (their ids)."""
    config = app.faults.config
    started = time.perf_counter()
    serviced: list[dict[str, object]] = []
    for index, item in enumerate(items):
        over = (config.batch_limit and index >= config.batch_limit) or (
            time.perf_counter() - started >= config.batch_time_budget
        )
        fault = None if over else app.faults.draw()
        if over or fault == "stall":  # a stalled item holds the batch past its quota: the rest are cancelled
            return serviced, [_item_id(rest) for rest in items[index:]]
        fault = None if fault == "drop" else fault  # a connection fault is the whole call's, drawn for it
        if fault is not None:
            app.stats.fault(f"batch_item_{fault}")
        serviced.append(_serve(app, outer, item, fault))
    return serviced, []


def _item_id(item: object) -> str:
    return str(item.get("id", "")) if isinstance(item, dict) else ""


def _serve(app: ServiceNowApp, outer: Request, item: object, fault: str | None = None) -> dict[str, object]:
    """One batch item, executed (or answered with its injected fault) and described."""
    started = time.perf_counter()
    item_id = _item_id(item)
    if fault is not None:
        response = error_response(*FAULT_RESPONSES[fault])
    elif isinstance(item, dict):
        response = _execute(app, outer, item)
    else:
        response = _invalid("item must be an object")
    result: dict[str, object] = {
        "id": item_id,
        "body": base64.b64encode(response.body).decode("ascii"),
        "status_code": response.status,
        "status_text": response.reason,
        "headers": [] if isinstance(item, dict) and item.get("exclude_response_headers") else _headers(response),
        "execution_time": int((time.perf_counter() - started) * 1000),
    }
    if response.status >= 400:
        result["error_message"] = _error_message(response)
    return result


def _execute(app: ServiceNowApp, outer: Request, item: Mapping[str, object]) -> Response:
    """Build the item's request and route it as the outer request's user."""
    method, url = str(item.get("method", "")), str(item.get("url", ""))
    if not item.get("id") or not method or not url:
        return _invalid("id, method and url are required")
    try:
        body = base64.b64decode(str(item.get("body") or ""), validate=False)
    except (binascii.Error, ValueError):
        return _invalid("body is not valid base64")
    if len(body) > MAX_ITEM_BYTES:
        return _invalid("item exceeds glide.rest.batch.max.inputSize")
    headers = _header_map(item.get("headers"))
    sub = Request.from_target(method, url, headers, body, outer.base_url)
    sub.user = outer.user
    if "/batch" in sub.path:
        return _invalid("a batch request cannot contain another batch request")
    return app.route(sub)


def _header_map(raw: object) -> dict[str, str]:
    """The item's [{"name", "value"}] headers as a dict."""
    headers: dict[str, str] = {}
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and "name" in entry:
            headers[str(entry["name"])] = str(entry.get("value", ""))
    return headers


def _headers(response: Response) -> list[dict[str, str]]:
    """Response headers in the batch answer's name/value form, with Content-Length as the platform adds."""
    listed = [{"name": k, "value": v} for k, v in response.headers]
    listed.append({"name": "Content-Length", "value": str(len(response.body))})
    return listed


def _error_message(response: Response) -> str:
    """The error message of a failed item's envelope."""
    try:
        envelope = json.loads(response.body or b"{}")
    except json.JSONDecodeError:
        return response.reason
    error = envelope.get("error") if isinstance(envelope, dict) else None
    return str(error.get("message", "")) if isinstance(error, dict) else response.reason


def _invalid(detail: str) -> Response:
    return error_response(400, "Invalid batch request item", detail)
