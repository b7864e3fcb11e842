"""Shared helpers for reporting configuration problems: YAML line numbers and pydantic errors as paths.

Every loader (bridge.yaml, partners.yaml, adapter settings) reports problems the same way: `file:line: path:
message`, all at once, and never the offending value (it may be a secret or an MPAN).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

Lines = dict[tuple[str, ...], int]


def index_lines(node: yaml.Node | None, prefix: tuple[str, ...] = ()) -> Lines:
    """Map each key path of a composed YAML document to the line it starts on (1-based)."""
    lines: Lines = {}
    _walk(node, prefix, lines)
    return lines


def _walk(node: yaml.Node | None, prefix: tuple[str, ...], lines: Lines) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _walk(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = (*prefix, str(i))
            lines[key] = item.start_mark.line + 1
            _walk(item, key, lines)


def where(path: Path, lines: Lines, loc: tuple[str, ...], *, default_line: int | None = None) -> str:
    """`file:line` of the deepest part of ``loc`` the file has."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return f"{path}:{lines[loc[:n]]}"
    return f"{path}:{default_line}" if default_line else str(path)


def problems(exc: ValidationError, prefix: str, *, root: str = "(top level)") -> list[str]:
    """`prefix.path: message` for each error, without the input values."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or root
        out.append(f"{prefix}.{path}: {err['msg']}" if prefix else f"{path}: {err['msg']}")
    return out
