"""Applying a field map: a pure function from (map, source dict) to target fields.

Every failure is a :class:`~bridge.errors.MappingError` naming the map, the target field and the source path,
so a dead letter says what to fix. Source values never appear in the message (they may hold an MPAN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from bridge.errors import MappingError
from bridge.mappings.dsl.model import FieldMap, FieldRule, map_key
from bridge.mappings.dsl.paths import MISSING, parse_path
from bridge.mappings.dsl.templates import render
from bridge.mappings.transforms import TRANSFORMS


def apply_field_map(field_map: FieldMap, source: Mapping[str, Any], *, label: str = "mapping") -> dict[str, Any]:
    """The target fields for ``source``, in the map's order. A field whose ``when`` does not hold is left out,
    as is an empty one when the map says ``omit_empty``."""
    fields: dict[str, Any] = {}
    for target, rule in field_map.fields.items():
        _apply_one(field_map, target, rule, source, fields, label)
    return fields


def dry_run(field_map: FieldMap, sample: Mapping[str, Any]) -> dict[str, str]:
    """Apply the map to a sample source of the flow's shape and collect every field's failure (field ->
    message), going on past each one, so ``bridge mappings check`` can report typos in paths, templates
    and transforms before any real event meets them."""
    failures: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for target, rule in field_map.fields.items():
        try:
            _apply_one(field_map, target, rule, sample, fields, "")
        except MappingError as exc:
            failures[target] = str(exc).removeprefix(f": field {target!r}: ")
    return failures


def _apply_one(
    field_map: FieldMap, target: str, rule: FieldRule, source: Mapping[str, Any], fields: dict[str, Any], label: str
) -> None:
    if rule.when is not None and not rule.when.holds(source):
        return
    where = f"{label}: field {target!r}"
    value = _chain(rule, _value(rule, source, fields, where), where)
    if not (field_map.omit_empty and (value is None or value == "")):
        fields[target] = value


def _value(rule: FieldRule, source: Mapping[str, Any], fields: dict[str, Any], where: str) -> Any:
    if rule.from_ is not None:
        return _read(rule.from_, source, where, default=rule.default, has_default=rule.has_default)
    if rule.template is not None:
        return _render(rule.template, source, fields, where)
    if rule.value_map is not None:
        vm = rule.value_map
        value = _read(vm.from_, source, where, default=None, has_default=vm.has_default)
        key = map_key(value)
        if key in vm.map:
            return vm.map[key]
        if vm.has_default:
            return vm.default
        raise MappingError(f"{where}: value_map from {vm.from_!r}: the value is not in the map and there is no default")
    return rule.const


def _read(path: str, source: Mapping[str, Any], where: str, *, default: Any, has_default: bool) -> Any:
    parsed = parse_path(path)
    value = parsed.read(source)
    if value is not MISSING:
        return value
    if has_default:
        return default
    raise MappingError(f"{where}: source path {path!r} not found (no {parsed.missing_at(source)!r}) and no default")


def _render(template: str, source: Mapping[str, Any], fields: dict[str, Any], where: str) -> str:
    variables = {**source, "source": source, "target": dict(fields)}
    try:
        return render(template, variables)
    except SecurityError as exc:
        raise MappingError(f"{where}: template refused by the sandbox: {exc}") from None
    except TemplateError as exc:
        raise MappingError(f"{where}: template failed: {exc}") from None
    except (TypeError, ValueError) as exc:  # a filter given a value it cannot take
        raise MappingError(f"{where}: template failed: {exc}") from None


def _chain(rule: FieldRule, value: Any, where: str) -> Any:
    for step in rule.transform:
        try:
            value = TRANSFORMS[step.name](value, *step.args)
        except (TypeError, ValueError, KeyError) as exc:
            raise MappingError(f"{where}: transform {step.name!r} failed: {exc}") from None
    return value
