"""``when:`` conditions: a small declarative form, never an expression language.

A test is ``{path: P, equals: V}``, ``{path: P, in: [V, ...]}``, ``{path: P, exists: true}`` or
``{path: P, matches: REGEX}`` (a case-insensitive search in the value's text); ``{all: [...]}``,
``{any: [...]}`` and ``{not: {...}}`` combine them. Values compare as text when the types differ, so
``equals: 1`` holds for ``"1"`` too (YAML and JSON disagree about numbers more often than admins do).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.mappings.dsl.paths import MISSING, SourcePath, parse_path

_TESTS = ("equals", "in_", "exists", "matches")
_COMBINATIONS = ("all_", "any_", "not_")


class Condition(BaseModel):
    """One test on a source path, or a combination of conditions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    path: str | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    exists: bool | None = None
    matches: str | None = None
    all_: list[Condition] | None = Field(default=None, alias="all")
    any_: list[Condition] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        given = [name for name in (*_TESTS, *_COMBINATIONS) if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(
                "a condition is exactly one of {path, equals|in|exists|matches}, {all: [...]}, {any: [...]} "
                f"or {{not: ...}}; got {', '.join(n.rstrip('_') for n in given) or 'none'}"
            )
        if given[0] in _TESTS and self.path is None:
            raise ValueError(f"`{given[0].rstrip('_')}` needs a `path`")
        if given[0] in _COMBINATIONS and self.path is not None:
            raise ValueError(f"`{given[0].rstrip('_')}` takes conditions, not a `path`")
        if self.path is not None:
            parse_path(self.path)
        if self.matches is not None:
            _regex(self.matches)
        return self

    def holds(self, source: Any) -> bool:
        """Whether the condition holds for ``source``."""
        if self.all_ is not None:
            return all(c.holds(source) for c in self.all_)
        if self.any_ is not None:
            return any(c.holds(source) for c in self.any_)
        if self.not_ is not None:
            return not self.not_.holds(source)
        return self._test(_path(str(self.path)).read(source))

    def _test(self, value: Any) -> bool:
        if self.exists is not None:
            return (value is not MISSING and value is not None) == self.exists
        if value is MISSING:
            return False
        if "equals" in self.model_fields_set:
            return same(value, self.equals)
        if self.in_ is not None:
            return any(same(value, option) for option in self.in_)
        return _regex(str(self.matches)).search("" if value is None else str(value)) is not None


def same(value: Any, wanted: Any) -> bool:
    """Equal, or equal as text when the types differ (``1`` and ``"1"``; ``true`` and ``"true"``)."""
    if value == wanted and type(value) is type(wanted):
        return True
    return _as_text(value) == _as_text(wanted)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@lru_cache(maxsize=512)
def _path(text: str) -> SourcePath:
    return parse_path(text)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
