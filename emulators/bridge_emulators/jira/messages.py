"""Transport-free requests and responses (the shared ones of :mod:`.._base.messages`), and Jira's two error
envelopes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._base.messages import JSON_TYPE, BaseRequest, BaseResponse, json_body
from .errors import BadRequest, JiraError


@dataclass
class Request(BaseRequest):
    """One API call: method, path, query parameters, headers (lower-case names), body, the user once known."""

    user: Any = None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400 as Jira words it."""
        text = self.body.decode("utf-8-sig", "replace") if self.body else ""
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"Unexpected character at line {exc.lineno} column {exc.colno}") from exc
        if not isinstance(value, dict):
            raise BadRequest("Can not deserialize instance of object out of a non-object JSON value")
        return value


@dataclass
class Response(BaseResponse):
    """Status, headers and body bytes of one answer."""


def json_response(status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """A JSON answer."""
    return Response(status, json_body(payload), [("Content-Type", JSON_TYPE), *headers])


def empty_response(status: int = 204) -> Response:
    """No content (Jira's answer to edits and transitions)."""
    return Response(status)


def platform_error(exc: JiraError, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """``/rest/api/2`` style: ``{"errorMessages": [...], "errors": {...}}``."""
    return json_response(exc.status, {"errorMessages": exc.messages, "errors": exc.errors}, headers)


def servicedesk_error(exc: JiraError, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """``/rest/servicedeskapi`` style: one ``errorMessage`` plus its i18n form."""
    message = "; ".join([*exc.messages, *exc.errors.values()]) or "Error"
    payload = {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.emulator.error", "parameters": []}}
    return json_response(exc.status, payload, headers)
