"""The mapping DSL with plain dicts: each construct, each load error with file:line, and the sandbox."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import ConfigError, MappingError
from bridge.mappings.dsl import FieldMap, LiveFieldMap, apply_field_map, load_field_map, parse_path
from bridge.mappings.dsl.conditions import Condition
from bridge.mappings.dsl.live import CHECK_EVERY
from bridge.mappings.dsl.paths import MISSING, render_parts
from tests.support.clock import StepClock

ALERT = {
    "rule": "cpu-high",
    "severity": "Sev1",
    "resource": {"name": "vm-01", "tags": {"cost centre": "dip", "service": "lss"}},
    "targets": [{"id": "a"}, {"id": "b"}],
    "impact": "high",
    "urgency": "medium",
    "fired": "2026-03-01T09:30:00+01:00",
    "count": 3,
}


def mapped(fields: dict[str, Any], source: dict[str, Any] = ALERT, **options: Any) -> dict[str, Any]:
    return apply_field_map(FieldMap.model_validate({"fields": fields, **options}), source, label="test.yaml")


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_field_map(path)
    return caught.value.problems


# --- constructs ------------------------------------------------------------------------------------------


def test_from_reads_keys_indexes_and_quoted_keys() -> None:
    out = mapped(
        {
            "a": {"from": "rule"},
            "b": {"from": "targets[1].id"},
            "c": {"from": 'resource.tags["cost centre"]'},
            "d": {"from": "targets[-1].id"},
        }
    )
    assert out == {"a": "cpu-high", "b": "b", "c": "dip", "d": "b"}


def test_from_default_applies_only_when_the_path_is_missing() -> None:
    out = mapped({"a": {"from": "nope.deeper", "default": "x"}, "b": {"from": "count", "default": 0}})
    assert out == {"a": "x", "b": 3}


def test_missing_path_without_default_names_field_path_and_missing_part() -> None:
    with pytest.raises(MappingError) as caught:
        mapped({"caller": {"from": "resource.owner.email"}})
    message = str(caught.value)
    assert "test.yaml: field 'caller'" in message
    assert "'resource.owner.email'" in message and "no 'resource.owner'" in message


def test_template_sees_source_keys_earlier_fields_and_transforms_as_filters() -> None:
    out = mapped(
        {
            "impact": {"const": "1"},
            "short_description": {"template": "{{ severity }}: {{ rule | upper }} on {{ resource.name }}"},
            "note": {"template": "impact {{ target.impact }}, p{{ impact | priority(urgency) }}"},
            "opened": {"template": "{{ fired | iso_to_servicenow }}"},
        }
    )
    assert out["short_description"] == "Sev1: CPU-HIGH on vm-01"
    assert out["note"] == "impact 1, p2"
    assert out["opened"] == "2026-03-01 08:30:00"


def test_template_undefined_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(MappingError, match=r"field 't': template failed: 'missing' is undefined"):
        mapped({"t": {"template": "x {{ missing }}"}})


def test_value_map_compares_as_text_and_uses_its_default() -> None:
    table = {"from": "severity", "map": {"Sev0": "1", "Sev1": "1"}, "default": "3"}
    assert mapped({"impact": {"value_map": table}}) == {"impact": "1"}
    assert mapped({"impact": {"value_map": table}}, {"severity": "Sev4"}) == {"impact": "3"}
    numeric = {"from": "count", "map": {3: "three"}}
    assert mapped({"n": {"value_map": numeric}}) == {"n": "three"}


def test_value_map_without_default_fails_for_an_unknown_value() -> None:
    with pytest.raises(MappingError, match=r"field 'impact': value_map from 'severity': the value is not in the map"):
        mapped({"impact": {"value_map": {"from": "severity", "map": {"Sev0": "1"}}}})


def test_const_and_omit_empty() -> None:
    out = mapped({"a": {"const": ""}, "b": {"const": None}, "c": {"const": 0}}, omit_empty=True)
    assert out == {"c": 0}
    assert mapped({"a": {"const": ""}}) == {"a": ""}


def test_transform_chain_runs_in_order() -> None:
    out = mapped(
        {
            "ids": {"const": ["b", "a", "c"], "transform": ["sort", {"join": ","}]},
            "title": {"const": "  a long resource name  ", "transform": ["strip", {"truncate": 9}, "upper"]},
            "p": {"from": "resource", "transform": "text"},
        }
    )
    assert out["ids"] == "a,b,c"
    assert out["title"] == "A LO…NAME"


def test_transform_failure_names_the_field_and_transform() -> None:
    with pytest.raises(MappingError, match=r"field 'opened': transform 'iso_to_servicenow' failed"):
        mapped({"opened": {"from": "rule", "transform": ["iso_to_servicenow"]}})


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        ({"path": "severity", "equals": "Sev1"}, True),
        ({"path": "count", "equals": "3"}, True),
        ({"path": "severity", "in": ["Sev0", "Sev2"]}, False),
        ({"path": "resource.tags.service", "exists": True}, True),
        ({"path": "resource.tags.owner", "exists": False}, True),
        ({"path": "rule", "matches": "^CPU"}, True),
        ({"path": "nope", "matches": "."}, False),
        ({"all": [{"path": "rule", "exists": True}, {"path": "count", "in": [1, 2, 3]}]}, True),
        ({"any": [{"path": "rule", "equals": "x"}, {"path": "count", "equals": 4}]}, False),
        ({"not": {"path": "rule", "equals": "x"}}, True),
    ],
)
def test_when_conditions(when: dict[str, Any], holds: bool) -> None:
    out = mapped({"x": {"const": "yes", "when": when}})
    assert out == ({"x": "yes"} if holds else {})


# --- load errors: every problem at once, with file:line and key path ----------------------------------------


def test_every_problem_is_reported_at_once_with_line_and_path(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "fields:\n"  # 1
        "  a: {from: x, const: 1}\n"  # 2
        "  b:\n"  # 3
        "    from: 'a..b'\n"  # 4
        "  c:\n"  # 5
        "    template: '{{ x'\n"  # 6
        "  d:\n"  # 7
        "    from: x\n"  # 8
        "    transform: [strip, nonsense]\n"  # 9
        "  e:\n"  # 10
        "    const: 1\n"  # 11
        "    when: {path: x, equals: 1, exists: true}\n"  # 12
        "  f: {from: x, colour: red}\n"  # 13
        "unknown_top: 1\n",  # 14
    )
    text = "\n".join(found)
    assert len(found) == 7, text
    assert "m.yaml:2: fields.a: a field takes exactly one of from, template, value_map, const; got from, const" in text
    assert "m.yaml:4: fields.b.from: invalid source path 'a..b'" in text
    assert "m.yaml:6: fields.c.template: template syntax error" in text
    assert "m.yaml:9: fields.d.transform[1]: unknown transform 'nonsense'" in text
    assert "m.yaml:12: fields.e.when: a condition is exactly one of" in text
    assert "m.yaml:13: fields.f.colour: Extra inputs are not permitted" in text
    assert "m.yaml:14: unknown_top: Extra inputs are not permitted" in text


def test_load_errors_for_arity_regex_defaults_and_yaml(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "fields:\n"
        "  a: {from: x, transform: [{truncate: [1, 2]}]}\n"
        "  b: {const: 1, when: {path: x, matches: '(['}}\n"
        "  c: {template: 'x', default: 1}\n"
        "  d: {const: 1, when: {all: [{equals: 1}]}}\n"
        "  e: {value_map: {from: 'x[', map: {}}}\n",
    )
    text = "\n".join(found)
    assert "m.yaml:2: fields.a.transform[0]: transform 'truncate' does not take 2 argument(s)" in text
    assert "m.yaml:3: fields.b.when: invalid regex" in text
    assert "m.yaml:4: fields.c: `default` goes with `from`" in text
    assert "m.yaml:5: fields.d.when.all[0]: `equals` needs a `path`" in text
    assert "m.yaml:6: fields.e.value_map.from: invalid source path 'x['" in text
    assert problems(tmp_path, "fields: [a\n")[0].startswith(f"{tmp_path / 'm.yaml'}:2: invalid YAML")
    assert "expected a mapping" in problems(tmp_path, "- 1\n")[0]


# --- no eval: the sandbox ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ rule.__class__ }}",
        "{{ rule.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__ }}",
        "{{ rule['__class__'] }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_private_attributes_are_refused_when_the_map_loads(template: str) -> None:
    with pytest.raises(ValueError, match="private attribute"):
        FieldMap.model_validate({"fields": {"x": {"template": template}}})


@pytest.mark.parametrize(
    "template",
    [
        "{{ rule | attr('__class__') }}",
        "{{ rule | attr('__cl' ~ 'ass__') }}",
        "{{ (lipsum | attr('__glo' ~ 'bals__'))['os'] }}",
        "{{ targets.append(1) }}",
        "{{ resource.tags.update(x=1) }}",
    ],
)
def test_what_slips_past_the_load_check_is_refused_by_the_sandbox_at_render(template: str) -> None:
    field_map = FieldMap.model_validate({"fields": {"x": {"template": template}}})
    with pytest.raises(MappingError, match="sandbox"):
        apply_field_map(field_map, {**ALERT, "targets": [1], "resource": {"tags": {}}})


def test_conditions_are_data_not_expressions() -> None:
    """A Python expression in a condition is only ever a string compared with a value."""
    out = mapped({"x": {"const": 1, "when": {"path": "rule", "equals": "__import__('os').system('true')"}}})
    assert out == {}


# --- hot reload --------------------------------------------------------------------------------------------


def test_live_map_takes_a_valid_edit_and_keeps_the_previous_version_on_an_invalid_one(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("fields:\n  a: {const: one}\n")
    clock = StepClock()
    live = LiveFieldMap(path, route="r", clock=clock)
    first = live.version

    def edit(text: str) -> None:  # a newer mtime, and the check interval passed
        mtime = path.stat().st_mtime
        path.write_text(text)
        os.utime(path, (mtime + 1, mtime + 1))
        clock.advance(CHECK_EVERY)

    edit("fields:\n  a: {const: two}\n")
    assert apply_field_map(live.current(), {}) == {"a": "two"} and live.version != first
    second = live.version
    edit("fields:\n  a: {const: three, from: x}\n")
    assert apply_field_map(live.current(), {}) == {"a": "two"} and live.version == second
    assert live.reload_error and "m.yaml:2: fields.a" in live.reload_error
    edit("fields:\n  a: {const: four}\n")
    assert apply_field_map(live.current(), {}) == {"a": "four"} and live.reload_error is None


def test_live_map_looks_at_the_file_at_most_once_a_second(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("fields:\n  a: {const: one}\n")
    clock = StepClock()
    live = LiveFieldMap(path, route="r", clock=clock)
    path.write_text("fields:\n  a: {const: two}\n")
    os.utime(path, (path.stat().st_mtime + 1,) * 2)
    clock.advance(CHECK_EVERY - 0.01)
    assert apply_field_map(live.current(), {}) == {"a": "one"}
    clock.advance(0.01)
    assert apply_field_map(live.current(), {}) == {"a": "two"}


# --- properties --------------------------------------------------------------------------------------------

keys = st.text(alphabet=st.characters(blacklist_characters='"]', blacklist_categories=("Cs",)), min_size=1)
parts = st.lists(st.one_of(keys, st.integers(min_value=0, max_value=5)), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(parts)
def test_any_written_path_parses_back_to_its_parts(path_parts: list[str | int]) -> None:
    assert parse_path(render_parts(tuple(path_parts))).parts == tuple(path_parts)


@settings(max_examples=200, deadline=None)
@given(parts, st.text())
def test_a_path_reads_the_value_a_nested_source_holds_there(path_parts: list[str | int], leaf: str) -> None:
    source: Any = leaf
    for part in reversed(path_parts):
        source = [None] * part + [source] if isinstance(part, int) else {part: source}
    assert parse_path(render_parts(tuple(path_parts))).read(source) == leaf
    assert parse_path(render_parts((*path_parts, "absent"))).read(source) is MISSING


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))


@settings(max_examples=200, deadline=None)
@given(scalars, scalars)
def test_not_not_is_the_condition_and_equals_holds_for_the_value_itself(value: Any, other: Any) -> None:
    source = {"v": value}
    test = Condition.model_validate({"path": "v", "equals": other})
    double = Condition.model_validate({"not": {"not": {"path": "v", "equals": other}}})
    assert test.holds(source) == double.holds(source)
    assert Condition.model_validate({"path": "v", "equals": value}).holds(source)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=6), scalars)
def test_a_value_map_with_a_default_always_gives_a_mapped_value_or_the_default(
    table: dict[str, str], value: Any
) -> None:
    out = mapped({"x": {"value_map": {"from": "v", "map": table, "default": "dflt"}}}, {"v": value})
    assert out["x"] in {*table.values(), "dflt"}
