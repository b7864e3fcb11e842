"""The bridge's one mapping language: declarative field maps in YAML (see docs/mappings.md).

* :func:`load_field_map` / :func:`validate_file` read and validate a mapping file, reporting every problem
  as ``file:line: key.path: message`` (:class:`~bridge.errors.ConfigError`).
* :func:`apply_field_map` is the pure part: (map, source dict) -> target fields, or a
  :class:`~bridge.errors.MappingError` naming the field and path.
* :class:`LiveFieldMap` is a map's live version, hot-reloaded from its source (the store's versions, or the file)
  (an invalid version is refused, the previous one stays live).

No ``eval`` anywhere: paths are parsed, conditions are data, templates run in Jinja2's immutable sandbox, and
transforms are the named functions in :data:`bridge.mappings.transforms.TRANSFORMS`.
"""

from __future__ import annotations

from bridge.mappings.dsl.apply import apply_field_map
from bridge.mappings.dsl.conditions import Condition
from bridge.mappings.dsl.live import LiveFieldMap
from bridge.mappings.dsl.load import file_version, load_field_map, located_problems, read_yaml, validate_file
from bridge.mappings.dsl.model import FieldMap, FieldRule, TransformCall, ValueMap
from bridge.mappings.dsl.paths import SourcePath, parse_path

__all__ = [
    "Condition",
    "FieldMap",
    "FieldRule",
    "LiveFieldMap",
    "SourcePath",
    "TransformCall",
    "ValueMap",
    "apply_field_map",
    "file_version",
    "load_field_map",
    "located_problems",
    "parse_path",
    "read_yaml",
    "validate_file",
]
