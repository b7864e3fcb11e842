"""Transport-free requests and responses (the shared ones of :mod:`.._base.messages`), so the same handlers
serve sockets and Batch API items."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .._base.messages import JSON_TYPE, BaseRequest, BaseResponse, json_body


@dataclass
class Request(BaseRequest):
    """One API call: method, path, query parameters, headers (lower-case names), body, the user once known."""

    user: str = ""

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
class Response(BaseResponse):
    """Status, headers and body bytes of one answer."""

    drop: bool = False


def json_response(status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
    """A JSON answer with the platform's content type."""
    return Response(status, json_body(payload), [("Content-Type", JSON_TYPE), *headers])


def error_response(
    status: int, message: str, detail: str | None = None, headers: Sequence[tuple[str, str]] = ()
) -> Response:
    """The standard error envelope: {"error": {"message", "detail"}, "status": "failure"}."""
    payload = {"error": {"message": message, "detail": detail}, "status": "failure"}
    return json_response(status, payload, headers)
