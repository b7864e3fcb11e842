"""Load the participant registry from YAML or CSV, keeping the source line of every organisation and contact.

YAML (``config/accounts.yaml``)::

    max_depth: 4                  # optional, levels allowed in the hierarchy (root = 1)
    organisations:                # or the file may be just this list
      - key: northwind            # stable slug, never changes; ServiceNow holds it in the key field
        name: Northwind Energy Group
        mpids: [NWEG]             # 4 uppercase alphanumerics each, unique across the registry
        roles: [Supplier]         # from model.ROLES (aliases such as "DIP Connection Provider" accepted)
        parent: null              # another organisation's key
        active: true
        contacts:
          - {name: Northwind Service Desk, email: servicedesk@northwind.example.co.uk, role: Service Desk}

CSV: ``accounts.csv`` plus ``accounts.contacts.csv`` with the same fields; see :mod:`bridge.accounts.csvsource`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bridge.accounts.csvsource import read_csv
from bridge.accounts.entries import Loc, WhereOf, parse_org
from bridge.accounts.model import DEFAULT_MAX_DEPTH, Organisation, Registry
from bridge.accounts.validate import validate_registry
from bridge.errors import ConfigError


def load_registry(
    path: str | Path, *, max_depth: int | None = None, contacts_path: str | Path | None = None
) -> Registry:
    """Read and validate a registry (``.yaml``/``.yml`` or ``.csv``); raise ConfigError with every problem.

    An entry whose shape is wrong (a missing name, a list that is not a list) is reported and checked no
    further; every other entry goes through every semantic check.
    """
    path = Path(path)
    problems: list[str] = []
    if path.suffix.lower() == ".csv":
        orgs, file_depth = read_csv(path, _contacts_file(path, contacts_path), problems), None
    else:
        orgs, file_depth = _read_yaml(path, problems)
    depth = max_depth or file_depth or DEFAULT_MAX_DEPTH
    registry = Registry(tuple(orgs), source=str(path), max_depth=depth)
    problems.extend(validate_registry(registry))
    if problems:
        raise ConfigError(sorted(problems, key=_position))
    return registry


def _position(problem: str) -> tuple[str, int]:
    """Sort key: file, then line number, so the list reads top to bottom like the file."""
    source, _, rest = problem.partition(":")
    line = rest.partition(":")[0]
    return source, int(line) if line.isdigit() else 0


def _contacts_file(path: Path, given: str | Path | None) -> Path:
    return Path(given) if given is not None else path.with_name(f"{path.stem}.contacts.csv")


# --- YAML -------------------------------------------------------------------------------------------------


def _read_yaml(path: Path, problems: list[str]) -> tuple[list[Organisation], int | None]:
    node, data = _compose(path)
    items, items_node, max_depth = _split_top(data, node, path, problems)
    orgs: list[Organisation] = []
    for index, raw in enumerate(items):
        item_node = _child(items_node, index)
        where_of = _yaml_where_of(str(path), item_node)
        org = parse_org(raw, line=_line(item_node), where_of=where_of, problems=problems)
        if org is not None:
            orgs.append(org)
    return orgs, max_depth


def _yaml_where_of(source: str, node: yaml.Node | None) -> WhereOf:
    def where_of(loc: Loc) -> tuple[str, int]:
        return source, _line_at(node, loc)

    return where_of


def _compose(path: Path) -> tuple[yaml.Node | None, Any]:
    """One parse gives both the node tree (for line numbers) and the plain data."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    finally:
        loader.dispose()
    return node, data


def _split_top(
    data: Any, node: yaml.Node | None, path: Path, problems: list[str]
) -> tuple[list[Any], yaml.Node | None, int | None]:
    """Accept either a bare list of organisations or a mapping with ``organisations`` and ``max_depth``."""
    if data is None:
        return [], None, None
    if isinstance(data, list):
        return data, node, None
    if not isinstance(data, dict):
        problems.append(f"{path}:1: expected a list of organisations or a mapping with 'organisations'")
        return [], None, None
    unknown = sorted(set(map(str, data)) - {"organisations", "max_depth"})
    for key in unknown:
        problems.append(f"{path}:{_line(_child(node, key))}: unknown top-level key '{key}'")
    depth = data.get("max_depth")
    if depth is not None and not (isinstance(depth, int) and depth >= 1):
        problems.append(f"{path}:{_line(_child(node, 'max_depth'))}: max_depth must be a whole number >= 1")
        depth = None
    items = data.get("organisations") or []
    if not isinstance(items, list):
        problems.append(f"{path}:{_line(_child(node, 'organisations'))}: 'organisations' must be a list")
        return [], None, depth
    return items, _child(node, "organisations"), depth


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    """The value node under a mapping key or sequence index, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value) == str(step):
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 0


def _line_at(node: yaml.Node | None, loc: Iterable[str | int]) -> int:
    """Line of the deepest node along a pydantic error location."""
    line = _line(node)
    for step in loc:
        node = _child(node, step)
        if node is None:
            break
        line = _line(node)
    return line
