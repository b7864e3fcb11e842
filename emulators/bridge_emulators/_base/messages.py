"""Transport-free requests and responses, shared by the emulators (each adds its own body parsing and errors)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Self
from urllib.parse import parse_qsl, urlsplit

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class BaseRequest:
    """One API call: method, path, query parameters, headers (lower-case names), body."""

    method: str
    path: str
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = ""

    @classmethod
    def from_target(cls, method: str, target: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Self:
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

    def all_params(self, name: str) -> list[str]:
        """Every value of a repeatable query parameter (``fields=a&fields=b``)."""
        return [v for k, v in parse_qsl(self.query_string, keep_blank_values=True) if k == name]

    def header(self, name: str, default: str = "") -> str:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass
class BaseResponse:
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


def json_body(payload: object) -> bytes:
    """Compact UTF-8 JSON, as both platforms send it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
