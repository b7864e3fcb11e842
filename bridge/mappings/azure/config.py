"""``config/mappings/azure-alert-to-incident.yaml``: what an admin edits to turn alerts into incidents.

Validated once at load, every problem reported with its YAML path (``routes[2].match.rule_name: ...``),
so a bad edit is refused whole rather than half-applied. Patterns are globs (case-insensitive, whole
value) unless written ``re:<regex>`` (case-insensitive search).
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.errors import ConfigError
from bridge.mappings.azure.field_map import DEFAULT_FIELDS, sample_source
from bridge.mappings.dsl import FieldMap, FieldRule
from bridge.mappings.dsl.load import dotted, dry_run_problems
from bridge.mappings.priority import Level, Priority, priority_for
from bridge.validation import Lines, index_lines, where

SEVERITIES = ("Sev0", "Sev1", "Sev2", "Sev3", "Sev4")
GroupBy = Literal["rule_resource", "rule", "rule_resource_group", "resource", "alert"]
TEMPLATE_SAMPLE: dict[str, Any] = {
    "rule": "rule",
    "resource": "resource",
    "severity": 3,
    "severity_label": "Sev3",
    "severity_name": "Informational",
    "monitoring_service": "Platform",
    "signal_type": "Metric",
    "resource_group": "rg",
    "resource_type": "Microsoft.Compute/virtualMachines",
    "subscription": "00000000-0000-0000-0000-000000000000",
    "condition": "Fired",
    "fired_at": "2026-01-01 00:00 UTC",
    "resolved_at": "2026-01-01 00:05 UTC",
    "occurrences": 1,
    "correlation_key": "key",
}

# Plain text for ServiceNow fields, not HTML, so no autoescaping; the sandbox blocks attribute tricks.
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """A sandboxed Jinja2 template (no attribute tricks, no I/O); cached because admins reuse a handful."""
    return _ENV.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a configured text template."""
    return compile_template(source).render(**context)


def _check_template(source: str) -> str:
    try:
        render(source, TEMPLATE_SAMPLE)
    except TemplateError as exc:
        raise ValueError(f"template error: {exc}") from None
    return source


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def pattern_matches(pattern: str, value: str) -> bool:
    """``re:`` regex (search, case-insensitive) or glob (whole value, case-insensitive)."""
    if pattern.startswith("re:"):
        return _regex(pattern[3:]).search(value) is not None
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _check_patterns(value: list[str] | None) -> list[str] | None:
    for pattern in value or []:
        if pattern.startswith("re:"):
            try:
                _regex(pattern[3:])
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern[3:]!r}: {exc}") from None
    return value


def _as_list(value: Any) -> Any:
    """Let an admin write one pattern as a plain string."""
    return [value] if isinstance(value, str) else value


def _check_pattern_map(value: dict[str, list[str]]) -> dict[str, list[str]]:
    for patterns in value.values():
        _check_patterns(patterns)
    return value


def _map_lists(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _as_list(item) for key, item in value.items()}
    return value


Patterns = Annotated[list[str] | None, BeforeValidator(_as_list), AfterValidator(_check_patterns)]
PatternMap = Annotated[dict[str, list[str]], BeforeValidator(_map_lists), AfterValidator(_check_pattern_map)]
TemplateText = Annotated[str, AfterValidator(_check_template)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeverityMapping(_Model):
    """Impact and urgency for one Azure severity."""

    impact: Level
    urgency: Level

    @field_validator("impact", "urgency", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Level:
        return Level.parse(value)

    @property
    def priority(self) -> Priority:
        """Priority from the manual's matrix."""
        return priority_for(self.impact, self.urgency)


def _mapping(impact: Level, urgency: Level) -> SeverityMapping:
    return SeverityMapping(impact=impact, urgency=urgency)


class SeverityTable(_Model):
    """Sev0..Sev4 -> impact/urgency; a less severe alert may never get a higher priority (lower number)."""

    Sev0: SeverityMapping = Field(default_factory=lambda: _mapping(Level.HIGH, Level.HIGH))
    Sev1: SeverityMapping = Field(default_factory=lambda: _mapping(Level.HIGH, Level.MEDIUM))
    Sev2: SeverityMapping = Field(default_factory=lambda: _mapping(Level.MEDIUM, Level.MEDIUM))
    Sev3: SeverityMapping = Field(default_factory=lambda: _mapping(Level.MEDIUM, Level.LOW))
    Sev4: SeverityMapping = Field(default_factory=lambda: _mapping(Level.LOW, Level.LOW))

    def for_severity(self, severity: int) -> SeverityMapping:
        """The mapping for severity 0-4."""
        mapping: SeverityMapping = getattr(self, SEVERITIES[severity])
        return mapping

    @model_validator(mode="after")
    def _monotonic(self) -> SeverityTable:
        problems = []
        for more, less in itertools.pairwise(SEVERITIES):
            worse, milder = getattr(self, more).priority, getattr(self, less).priority
            if milder < worse:
                problems.append(
                    f"{less} gives {milder.label} but the more severe {more} gives {worse.label}: "
                    "a less severe alert must never get a higher priority"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Match(_Model):
    """Conditions of a route; all given ones must hold, a list means any of its patterns."""

    subscription: Patterns = None
    resource_group: Patterns = None
    resource_type: Patterns = None
    resource_name: Patterns = None
    rule_name: Patterns = None
    monitoring_service: Patterns = None
    severity: list[int] | None = None
    tags: PatternMap = Field(default_factory=dict)
    properties: PatternMap = Field(default_factory=dict)

    @field_validator("severity", mode="before")
    @classmethod
    def _severities(cls, value: Any) -> Any:
        """Accept ``Sev1``, ``1`` or a list of them."""
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        return [item.strip().lower().removeprefix("sev") if isinstance(item, str) else item for item in items]

    @field_validator("severity")
    @classmethod
    def _severity_range(cls, value: list[int] | None) -> list[int] | None:
        if value and any(not 0 <= item <= 4 for item in value):
            raise ValueError("severities are Sev0..Sev4")
        return value


class Assignment(_Model):
    """Who gets the incident and how it is classified; unset fields fall back to ``defaults``."""

    assignment_group: str | None = None
    category: str | None = None
    subcategory: str | None = None
    caller_id: str | None = None
    cmdb_ci: str | None = None
    contact_type: str | None = None


class Defaults(_Model):
    """What every incident gets unless a route says otherwise."""

    assignment_group: str = Field(min_length=1)
    category: str = "Software"
    subcategory: str = ""
    caller_id: str = ""
    cmdb_ci: str = ""
    contact_type: str = "monitoring"


class Route(_Model):
    """One ordered assignment rule; the first matching route wins."""

    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    assign: Assignment = Field(default_factory=Assignment)
    group_by: GroupBy = "rule_resource"


class ShortDescription(_Model):
    """The incident title; ServiceNow's short_description holds 160 characters."""

    template: TemplateText = "Azure {{ severity_label }}: {{ rule }} on {{ resource }}"
    max_length: int = Field(default=160, ge=40, le=160)


class Lifecycle(_Model):
    """What happens after the first incident: reopen, resolve, close fields."""

    reopen_window_minutes: int = Field(default=60, ge=0)
    resolve_behaviour: Literal["resolve", "annotate"] = "resolve"
    close_code: str = Field(default="Solution provided", min_length=1)
    close_notes: TemplateText = (
        "Azure Monitor reports that alert {{ rule }} on {{ resource }} cleared at {{ resolved_at }}"
        " after {{ occurrences }} notification(s). Resolved automatically by the bridge."
    )


class Storm(_Model):
    """Coalescing: a group's alerts while its incident is open become notes; at most N notes per window."""

    window_minutes: int = Field(default=15, ge=1)
    max_notes_per_window: int | None = Field(default=10, ge=1)


class Flapping(_Model):
    """``threshold`` fire/resolve cycles within ``window_minutes`` marks the incident flapping."""

    threshold: int = Field(default=3, ge=2)
    window_minutes: int = Field(default=60, ge=1)


class AzureMappingConfig(_Model):
    """The whole Azure alert -> incident mapping."""

    version: Literal[1] = 1
    severity: SeverityTable = Field(default_factory=SeverityTable)
    defaults: Defaults
    routes: list[Route] = Field(default_factory=list)
    short_description: ShortDescription = Field(default_factory=ShortDescription)
    description_max_length: int = Field(default=4000, ge=500, le=65000)
    correlation_display: str = Field(default="Azure Monitor", min_length=1, max_length=100)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    storm: Storm = Field(default_factory=Storm)
    flapping: Flapping = Field(default_factory=Flapping)
    fields: dict[str, FieldRule] = Field(default_factory=lambda: _default_fields())

    @property
    def field_map(self) -> FieldMap:
        """The incident field map (mapping DSL); empty values are always left out."""
        return FieldMap.model_construct(fields=self.fields, omit_empty=True)

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, routes: list[Route]) -> list[Route]:
        seen: set[str] = set()
        for route in routes:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} is used twice")
            seen.add(route.name)
        return routes


def _default_fields() -> dict[str, FieldRule]:
    return {name: FieldRule.model_validate(rule) for name, rule in DEFAULT_FIELDS.items()}


def validation_problems(error: ValidationError, source: str, lines: Lines | None = None) -> list[str]:
    """pydantic's errors as ``source[:line]: yaml.path: message`` lines."""
    return [
        f"{_at(source, lines, item['loc'])}: {dotted(item['loc'])}: {item['msg'].removeprefix('Value error, ')}"
        for item in error.errors()
    ]


def _at(source: str, lines: Lines | None, loc: tuple[int | str, ...]) -> str:
    return where(Path(source), lines, tuple(str(p) for p in loc), default_line=1) if lines else source


def parse_azure_mapping(
    data: Any, *, source: str = "azure-alert-to-incident.yaml", lines: Lines | None = None
) -> AzureMappingConfig:
    """Validate already-loaded YAML data, then dry-run its ``fields`` on a sample alert; ConfigError lists
    every problem (with its line when ``lines`` is given)."""
    if not isinstance(data, Mapping):
        raise ConfigError([f"{source}: (top level): expected a mapping, got {type(data).__name__}"])
    try:
        cfg = AzureMappingConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, source, lines)) from None
    problems = dry_run_problems(cfg.field_map, sample_source(), path=source, lines=lines or {})
    if problems:
        raise ConfigError(problems)
    return cfg


def load_azure_mapping(path: str | Path) -> AzureMappingConfig:
    """Read and validate the mapping file; ConfigError for unreadable files, bad YAML and bad values."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    return azure_mapping_from_text(text, source=source)


def azure_mapping_from_text(text: str, *, source: str) -> AzureMappingConfig:
    """A mapping's YAML text (its file's, or one an admin is editing) validated and dry-run; ConfigError names
    every problem as ``source:line: yaml.path: message``."""
    try:
        lines = index_lines(yaml.compose(text, Loader=yaml.SafeLoader))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{source}:{mark.line + 1}: invalid YAML (line {mark.line + 1} column {mark.column + 1})" if mark else ""
        raise ConfigError([f"{at or source + ':1: invalid YAML'}: {getattr(exc, 'problem', None) or exc}"]) from None
    return parse_azure_mapping(data, source=source, lines=lines)
