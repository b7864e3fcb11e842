"""Transport-free requests and responses, so the same handlers serve sockets and Batch API items."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

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
    user: str = ""

    @classmethod
    def from_target(cls, method: str, target: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Request:
        """Build from a request target such as ``/api/now/table/incident?sysparm_limit=1``."""
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

    def header(self, name: str, default: str = "") -> str:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def json(self) -> object:
        """The body as JSON; ServiceNow also takes the single-quoted JSON its own curl examples send."""
        text = self.body.decode("utf-8-sig") if self.body else ""
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if text.lstrip().startswith("{'"):
                return json.loads(text.replace("'", '"'))
            raise


@dataclass
class Response:
    """Status, headers and body bytes of one answer."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

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
    """A JSON answer with the platform's content type."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", JSON_TYPE), *headers])


def error_response(
    status: int, message: str, detail: str | None = None, headers: Sequence[tuple[str, str]] = ()
) -> Response:
    """The standard error envelope: {"error": {"message", "detail"}, "status": "failure"}."""
    payload = {"error": {"message": message, "detail": detail}, "status": "failure"}
    return json_response(status, payload, headers)
