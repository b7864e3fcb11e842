"""Source paths: ``alert.tags["cost centre"]``, ``items[0].name``, read from plain dicts and lists.

Parsed once when the mapping loads, so a malformed path is a load error with its line, not a surprise at
the first event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(-?\d+)\]|\["([^"\]]*)"\]')
MISSING: Any = object()


@dataclass(frozen=True)
class SourcePath:
    """A parsed path; ``parts`` are keys (str) and list indexes (int)."""

    text: str
    parts: tuple[str | int, ...]

    def read(self, source: Any) -> Any:
        """The value at this path, or :data:`MISSING` when any step is absent."""
        value = source
        for part in self.parts:
            value = _step(value, part)
            if value is MISSING:
                return MISSING
        return value

    def missing_at(self, source: Any) -> str:
        """The first prefix of the path that is absent, for error messages."""
        value = source
        for n, part in enumerate(self.parts, start=1):
            value = _step(value, part)
            if value is MISSING:
                return render_parts(self.parts[:n])
        return ""


def _step(value: Any, part: str | int) -> Any:
    if isinstance(part, int):
        if isinstance(value, Sequence) and not isinstance(value, str | bytes) and -len(value) <= part < len(value):
            return value[part]
        return MISSING
    if isinstance(value, Mapping) and part in value:
        return value[part]
    return MISSING


def render_parts(parts: tuple[str | int, ...]) -> str:
    """Parts written back as a path."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def parse_path(text: str) -> SourcePath:
    """``a.b[0]["x y"]`` -> parts; ValueError naming the position of the first bad character."""
    if not isinstance(text, str):
        raise ValueError("a source path must be a non-empty string such as alert.rule or items[0].name")
    return _parsed(text)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> SourcePath:
    """A mapping names the same few paths for every record it maps: each is parsed once (a SourcePath is
    immutable, and an error is raised again each time, being not cached)."""
    if not text.strip():
        raise ValueError("a source path must be a non-empty string such as alert.rule or items[0].name")
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None or (position == 0 and text.startswith(".")) or (position and match.group(0)[0] not in ".["):
            raise ValueError(f"invalid source path {text!r} at character {position + 1}")
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    return SourcePath(text, tuple(parts))
