"""Transport-free requests and responses, and Jira's two error envelopes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import BadRequest, JiraError

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Request:
    """One API call: method, path, query parameters, headers (lower-case names), body."""

    method: str
    path: str
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = ""
    user: Any = None

    @classmethod
    def from_target(cls, method: str, target: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Request:
        """Build from a request target such as ``/rest/api/2/search?jql=...``."""
        parts = urlsplit(target)
        lowered = {k.lower(): v for k, v in headers.items()}
        return cls(method.upper(), parts.path, parts.query, lowered, body, base_url)

    @property
    def params(self) -> dict[str, str]:
        """Query parameters (the first value of each name wins)."""
        result: dict[str, str] = {}
        for key, value in parse_qsl(self.query_string, keep_blank_values=True):
            result.setdefault(key, value)
        return result

    def all_params(self, name: str) -> list[str]:
        """Every value of a repeatable query parameter (``fields=a&fields=b``)."""
        return [v for k, v in parse_qsl(self.query_string, keep_blank_values=True) if k == name]

    def header(self, name: str, default: str = "") -> str:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

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
class Response:
    """Status, headers and body bytes of one answer."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The standard reason phrase of the status."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"

    def header(self, name: str) -> str | None:
        """A response header by case-insensitive name."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """A JSON answer."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", JSON_TYPE), *headers])


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
