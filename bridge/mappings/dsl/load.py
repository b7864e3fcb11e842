"""Reading mapping files: YAML -> a validated model, every problem at once as ``file:line: key.path: message``.

Shared by the DSL field maps and the Azure mapping (which embeds a field map), so every mapping file reports
problems the same way as bridge.yaml does (:mod:`bridge.validation`). Values are never echoed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bridge.errors import ConfigError
from bridge.mappings.dsl.apply import dry_run
from bridge.mappings.dsl.model import FieldMap
from bridge.validation import Lines, index_lines, where

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml(path: Path) -> tuple[Any, Lines, bytes]:
    """The parsed document, its key-path -> line index, and the raw bytes (for the version hash)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}:1: invalid YAML: not UTF-8 ({exc.reason})"]) from None
    data, lines = read_yaml_text(text, path)
    return data, lines, raw


def read_yaml_text(text: str, label: Path | str) -> tuple[Any, Lines]:
    """A YAML text (a file's, or one an admin is editing) parsed, with its key-path -> line index; a syntax
    error is a ConfigError at ``label:line``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{label}:{mark.line + 1}" if mark is not None else f"{label}:1"
        raise ConfigError([f"{at}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    return data, index_lines(node)


def dotted(loc: tuple[int | str, ...]) -> str:
    """pydantic's ``loc`` as ``fields.impact.value_map[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def located_problems(exc: ValidationError, path: Path, lines: Lines) -> list[str]:
    """Each pydantic error as ``file:line: key.path: message``."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"])
        at = where(path, lines, tuple(str(p) for p in loc), default_line=1)
        out.append(f"{at}: {dotted(loc)}: {err['msg'].removeprefix('Value error, ')}")
    return out


def validate_file(path: Path, model: type[ModelT]) -> tuple[ModelT, str]:
    """The file validated as ``model``, and its version (a hash of the bytes); ConfigError lists every problem."""
    data, lines, raw = read_yaml(path)
    return validate_data(data, lines, path, model), file_version(raw)


def validate_text(text: str, label: Path | str, model: type[ModelT]) -> ModelT:
    """A YAML text validated as ``model``; ConfigError lists every problem as ``label:line: key.path: message``."""
    data, lines = read_yaml_text(text, label)
    return validate_data(data, lines, Path(label), model)


def validate_data(data: Any, lines: Lines, path: Path, model: type[ModelT]) -> ModelT:
    """Parsed YAML validated as ``model``, every problem located by ``lines`` in ``path``."""
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: (top level): expected a mapping of keys, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(located_problems(exc, path, lines)) from None


def file_version(raw: bytes) -> str:
    """The mapping version recorded on each outbox operation: the first 12 hex digits of the file's sha256."""
    return hashlib.sha256(raw).hexdigest()[:12]


def load_field_map(path: str | Path) -> FieldMap:
    """A DSL field map file; ConfigError with file:line for every problem."""
    field_map, _version = validate_file(Path(path), FieldMap)
    return field_map


def dry_run_problems(
    field_map: FieldMap, sample: Any, *, path: Path | str, lines: Lines, prefix: tuple[str, ...] = ("fields",)
) -> list[str]:
    """:func:`~bridge.mappings.dsl.apply.dry_run` failures as ``file:line: fields.NAME: message``."""
    out = []
    for name, message in dry_run(field_map, sample).items():
        loc = (*prefix, name)
        at = where(Path(path), lines, loc, default_line=1) if lines else str(path)
        out.append(f"{at}: {dotted(loc)}: {message} (found by a dry run on a sample event)")
    return out
