"""The one decision on what a JSON webhook body may be, made at the door (issue 15, "5xx where a 4xx belongs").

Accepted: UTF-8 JSON (RFC 8259 8.1), a UTF-8 byte-order mark tolerated and dropped (a parser MAY ignore it),
and the body is stored without it, so what is processed later is exactly what was checked now. Refused with a
400 that says why, before anything is stored: UTF-16 or UTF-32 (the JSON RFC allows only UTF-8 between
systems) and any other bytes that are not UTF-8; ``NaN``, ``Infinity`` and numbers too large for a float
(JSON has no such values: they are Python's extension and would fail later, in a mapping or at a target);
integers too long to convert; strings with a lone surrogate escape (``"\\ud800"``: not text, and no database
stores it); nesting deeper than ``MAX_DEPTH`` (``[`` x 100,000 used to answer 500). Never 202 and then a
dead letter the sender could have been told about.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from bridge.server.webhooks import reject

MAX_DEPTH = 64
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class JsonBody:
    """A body that passed the door: the decoded value and the text to store."""

    value: Any
    text: str


def json_body(body: bytes, *, source: str) -> JsonBody:
    """Decode ``body`` or raise the 400 (a FastAPI ``HTTPException``) naming what is wrong."""
    text = _text(body, source)
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise _bad(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source) from None
    except RecursionError:
        raise _bad(f"body is nested more than {MAX_DEPTH} levels deep", source) from None
    except ValueError as exc:  # NaN/Infinity, a float overflow, an integer too long to convert
        raise _bad(f"body is not valid JSON: {exc}", source) from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):  # counting is C-fast
        raise _bad(f"body is nested more than {MAX_DEPTH} levels deep", source)
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise _bad("body has a string with a lone surrogate escape (\\ud800-\\udfff): not text", source)
    return JsonBody(value, text)


def json_object(body: bytes, *, source: str) -> JsonBody:
    """Like :func:`json_body`, for a body that must be a JSON object."""
    decoded = json_body(body, source=source)
    if not isinstance(decoded.value, dict):
        raise _bad("body must be a JSON object", source)
    return decoded


def _text(body: bytes, source: str) -> str:
    if body.startswith(_WIDE_BOMS) or (len(body) >= 2 and b"\x00" in body[:4]):
        raise _bad("body must be UTF-8 JSON; it looks like UTF-16 or UTF-32", source)
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"body is not UTF-8: {exc.reason} at byte {exc.start}", source) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is too large")
    return number


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, and only containers are visited: cheap for the shallow bodies webhooks carry."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad(message: str, source: str) -> Exception:
    return reject(400, message, source=source, reason="json", path="$")


__all__ = ["MAX_DEPTH", "JsonBody", "json_body", "json_object"]
