"""A path-tracking view over decoded JSON, so every bad field is reported as ``$.a.b[0].c``, never a KeyError.

Azure payloads mix types for the same field (ServiceHealth sends ``"level": 3`` where other activity-log
alerts send ``"Informational"``; thresholds arrive as ``"25"`` or ``25``), so the readers here are lenient
about scalars and strict about shape: a string where an object is required is an :class:`InputError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bridge.errors import InputError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def decode_body(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """Turn a webhook body into a JSON object; anything else is an InputError at ``$``."""
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"body is not UTF-8: {exc.reason}", path="$") from exc
    if not isinstance(body, str):
        raise InputError(f"body must be bytes, str or a mapping, not {type(body).__name__}", path="$")
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(decoded, dict):
        raise InputError(f"body must be a JSON object, not {_kind(decoded)}", path="$")
    return decoded


def _kind(value: object) -> str:
    """JSON's name for a Python value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


class Node:
    """One value in the payload and how it was reached. The ``$.a.b[0]`` path is only spelled out when an error
    needs it: building it for every field read was most of the webhook's parsing cost."""

    __slots__ = ("_key", "_parent", "value")

    def __init__(self, value: Any, parent: Node | None = None, key: str | int | None = None) -> None:
        self.value = value
        self._parent = parent
        self._key = key

    @property
    def path(self) -> str:
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node._parent is not None:
            key = node._key
            if isinstance(key, int):
                parts.append(f"[{key}]")
            elif key is not None and _IDENTIFIER.fullmatch(key):
                parts.append(f".{key}")
            else:
                parts.append(f"['{key}']")
            node = node._parent
        return "$" + "".join(reversed(parts))

    def __getitem__(self, key: str) -> Node:
        """The child ``key``; a missing key (or a null parent) reads as a null child."""
        parent = self.value
        # decoded JSON is always a dict: test for it first, before the (slower) abstract Mapping check
        value = parent.get(key) if type(parent) is dict or isinstance(parent, Mapping) else None
        return Node(value, self, key)

    def first(self, *keys: str) -> Node:
        """The first of ``keys`` that is present and not null (Azure spells some keys two ways)."""
        for key in keys:
            child = self[key]
            if child.value is not None:
                return child
        return self[keys[0]]

    @property
    def missing(self) -> bool:
        """True for an absent key or an explicit null."""
        return self.value is None

    def fail(self, message: str) -> InputError:
        """An InputError for this node, to ``raise``."""
        return InputError(message, path=self.path)

    def obj(self, *, required: bool = False) -> Node:
        """This node as an object; null gives an empty object unless ``required``."""
        if self.value is None and not required:
            return Node({}, self._parent, self._key)
        if type(self.value) is not dict and not isinstance(self.value, Mapping):
            raise self.fail(f"expected an object, got {_kind(self.value)}")
        return self

    def items(self) -> Iterator[Node]:
        """The elements of an array (null or absent is empty); each keeps its ``[i]`` path."""
        if self.value is None:
            return iter(())
        if not isinstance(self.value, list):
            raise self.fail(f"expected an array, got {_kind(self.value)}")
        return (Node(item, self, index) for index, item in enumerate(self.value))

    def text(self, default: str = "") -> str:
        """A scalar as text (numbers and booleans converted); objects and arrays are an error."""
        value = self.value
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return _number_text(value)
        raise self.fail(f"expected a string, got {_kind(value)}")

    def required_text(self) -> str:
        """A non-empty scalar as text; missing, null or blank is an error."""
        if self.value is None:
            raise self.fail("required field is missing")
        text = self.text().strip()
        if not text:
            raise self.fail("required field is empty")
        return text

    def number(self) -> float | None:
        """A number, accepting numeric strings ("25", "0.3"); null or blank gives None."""
        value = self.value
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise self.fail("expected a number, got boolean")
        try:
            number = float(value.replace(",", "") if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise self.fail(f"expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise self.fail(f"expected a finite number, got {value!r}")
        return number

    def integer(self) -> int | None:
        """A whole number (numeric strings accepted); null gives None."""
        number = self.number()
        if number is None:
            return None
        if number != int(number):
            raise self.fail(f"expected a whole number, got {self.value!r}")
        return int(number)

    def string_map(self) -> dict[str, str]:
        """An object of scalars as ``{str: str}``; nested values are kept as compact JSON text."""
        result: dict[str, str] = {}
        for key, value in self.obj().value.items():
            if isinstance(value, Mapping | list):
                result[str(key)] = json.dumps(value, sort_keys=True, separators=(",", ":"))
            else:
                result[str(key)] = Node(value).text()
        return result

    def text_list(self) -> tuple[str, ...]:
        """An array of scalars as text, blanks dropped; a lone string counts as a one-item list."""
        if isinstance(self.value, str):
            return (self.value,) if self.value.strip() else ()
        return tuple(text for item in self.items() if (text := item.text().strip()))


def _number_text(value: int | float) -> str:
    """Numbers as people write them: 25 not 25.0, 0.3 not 0.30000000000000004."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def unpack_json_text(value: str) -> Any:
    """Decode JSON that Azure packed inside a string (ServiceHealth ``impactedServices``); else the text."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "[{":
        return value
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return value
