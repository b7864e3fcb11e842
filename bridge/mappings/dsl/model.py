"""The field map schema: what an admin may write, validated by pydantic (unknown keys are errors).

```yaml
fields:
  short_description: {template: "{{ rule | truncate(120) }}"}
  impact: {value_map: {from: severity, map: {Sev0: "1", Sev1: "1"}, default: "3"}}
  caller_id: {from: alert.caller, default: azure.monitor}
  contact_type: {const: monitoring}
  u_tags: {from: tags, transform: [sort, {join: ", "}], when: {path: tags, exists: true}}
```
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.mappings.dsl.conditions import Condition
from bridge.mappings.dsl.paths import parse_path
from bridge.mappings.dsl.templates import compile_template
from bridge.mappings.transforms import TRANSFORMS

_SOURCES = ("from_", "template", "value_map", "const")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_path(value: str) -> str:
    parse_path(value)
    return value


class TransformCall(_Model):
    """One step of a ``transform:`` chain: a registered name and its arguments."""

    name: str
    args: tuple[Any, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        """``strip`` or ``{truncate: 80}`` or ``{join: [", "]}``."""
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "name" in value and set(value) <= {"name", "args"}:
            return value  # the model's own dump
        if isinstance(value, dict) and len(value) == 1:
            ((name, args),) = value.items()
            return {"name": name, "args": tuple(args) if isinstance(args, list) else (args,)}
        if isinstance(value, dict):
            raise ValueError("a transform is a name, or {name: argument} with exactly one name")
        return value

    @model_validator(mode="after")
    def _known(self) -> TransformCall:
        function = TRANSFORMS.get(self.name)
        if function is None:
            raise ValueError(f"unknown transform {self.name!r}; known: {', '.join(sorted(TRANSFORMS))}")
        try:
            inspect.signature(function).bind(None, *self.args)
        except TypeError:
            raise ValueError(f"transform {self.name!r} does not take {len(self.args)} argument(s)") from None
        return self


class ValueMap(_Model):
    """Look the source value up in ``map`` (keys compared as text); ``default`` when it is not there."""

    from_: str = Field(alias="from")
    map: dict[str, Any]
    default: Any = None

    @field_validator("map", mode="before")
    @classmethod
    def _text_keys(cls, value: Any) -> Any:
        return {map_key(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("from_")
    @classmethod
    def _path(cls, value: str) -> str:
        return _check_path(value)

    @property
    def has_default(self) -> bool:
        """Whether ``default`` was written (``default: null`` counts)."""
        return "default" in self.model_fields_set


def map_key(value: Any) -> str:
    """How value-map keys and looked-up values compare: as text, booleans as true/false, null as ""."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class FieldRule(_Model):
    """How one target field gets its value: exactly one of from, template, value_map, const."""

    from_: str | None = Field(default=None, alias="from")
    default: Any = None
    template: str | None = None
    value_map: ValueMap | None = None
    const: Any = None
    when: Condition | None = None
    transform: list[TransformCall] = Field(default_factory=list)

    @field_validator("from_")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            compile_template(value)
        return value

    @field_validator("transform", mode="before")
    @classmethod
    def _one_transform(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [name for name in _SOURCES if name in self.model_fields_set]
        if len(given) != 1:
            found = ", ".join(n.rstrip("_") for n in given) or "none"
            raise ValueError(f"a field takes exactly one of from, template, value_map, const; got {found}")
        if "default" in self.model_fields_set and given[0] != "from_":
            raise ValueError("`default` goes with `from` (a value_map has its own default)")
        return self

    @property
    def has_default(self) -> bool:
        """Whether ``default`` was written (``default: null`` counts)."""
        return "default" in self.model_fields_set


class FieldMap(_Model):
    """Target field name -> rule, in order. ``omit_empty`` leaves out fields whose value is None or ""."""

    fields: dict[str, FieldRule]
    omit_empty: bool = False
