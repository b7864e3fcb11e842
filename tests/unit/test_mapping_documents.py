"""Live documents: a flow's mapping follows its source's revisions, at most once a second, refusing a bad version."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import ConfigError
from bridge.mappings.documents import CHECK_EVERY, Document, FileDocuments, Kind, LiveDocument, text_version
from bridge.mappings.dsl import LiveFieldMap, apply_field_map
from tests.support.clock import StepClock


class MemorySource:
    """A source whose versions a test appends (as an admin's saves reach the store)."""

    def __init__(self, text: str) -> None:
        self.versions = [text]
        self.asked = 0
        self.stored = 0
        self.problem: str | None = None

    def register(self, name: str, path: Path, kind: Kind, *, route: str) -> None:
        self.label = str(path)

    def revision(self, name: str) -> int:
        self.asked += 1
        return len(self.versions)

    def load(self, name: str) -> Document:
        return Document(name, self.versions[-1], self.label, len(self.versions))

    def refused(self, name: str) -> str | None:
        return self.problem

    def changes(self) -> int:
        return self.stored


def test_a_live_map_takes_each_new_revision_and_keeps_the_previous_one_when_it_does_not_parse() -> None:
    source = MemorySource("fields:\n  a: {const: one}\n")
    clock = StepClock()
    live = LiveFieldMap(Path("maps/m.yaml"), route="r", clock=clock, source=source)
    assert live.name == "m" and live.version == text_version("fields:\n  a: {const: one}\n")
    source.versions.append("fields:\n  a: {const: two}\n")
    assert apply_field_map(live.current(), {}) == {"a": "one"}, "the source is asked at most once a second"
    assert source.asked == 0
    clock.advance(CHECK_EVERY)
    assert apply_field_map(live.current(), {}) == {"a": "two"} and source.asked == 1
    second = live.version
    source.versions.append("fields:\n  a: {const: three, from: x}\n")
    clock.advance(CHECK_EVERY)
    live.reload_if_changed()
    assert apply_field_map(live.field_map, {}) == {"a": "two"} and live.version == second
    assert live.reload_error and "maps/m.yaml:2: fields.a" in live.reload_error
    clock.advance(CHECK_EVERY)
    live.reload_if_changed()
    assert source.asked == 3 and live.reload_error, "an unchanged revision is not parsed again, nor forgotten"
    source.versions.append("fields:\n  a: {const: four}\n")
    clock.advance(CHECK_EVERY)
    assert apply_field_map(live.current(), {}) == {"a": "four"} and live.reload_error is None


def test_a_version_this_process_stored_is_looked_at_without_waiting() -> None:
    source = MemorySource("fields:\n  a: {const: one}\n")
    live = LiveFieldMap(Path("m.yaml"), clock=StepClock(), source=source)
    source.versions.append("fields:\n  a: {const: two}\n")
    live.reload_if_changed()
    assert apply_field_map(live.field_map, {}) == {"a": "one"} and source.asked == 0
    source.stored += 1  # a save on this process's admin page
    live.reload_if_changed()
    assert apply_field_map(live.field_map, {}) == {"a": "two"} and source.asked == 1


def test_a_refusal_at_the_source_shows_as_the_documents_reload_error() -> None:
    source = MemorySource("fields: {}\n")
    live = LiveFieldMap(Path("m.yaml"), source=source)
    assert live.reload_error is None
    source.problem = "m.yaml:3: fields.x: bad"
    assert live.reload_error == "m.yaml:3: fields.x: bad"


def test_a_first_version_that_does_not_parse_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as caught:
        LiveDocument(Path("m.yaml"), lambda d: int(d.text), kind="forward", source=_Bad())
    assert caught.value.problems == ["m.yaml:1: nope"]


class _Bad(MemorySource):
    def __init__(self) -> None:
        super().__init__("x")

    def load(self, name: str) -> Document:
        raise ConfigError(["m.yaml:1: nope"])


def test_without_a_store_the_file_is_the_document(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(b"fields:\r\n  a: {const: one}\r\n")
    files = FileDocuments()
    files.register("m", path, "forward", route="r")
    document = files.load("m")
    assert document.text == "fields:\r\n  a: {const: one}\r\n" and document.label == str(path)
    assert document.version == text_version(document.text) == _sha12(path.read_bytes())
    assert files.revision("m") == path.stat().st_mtime_ns and files.refused("m") is None
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        files.load("m")


def _sha12(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()[:12]


yamlish = st.text(alphabet=st.sampled_from(list("[]{}:,-&*!'\" \n\tab12|>#%@`")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(st.one_of(yamlish, st.text(max_size=200)), st.sampled_from(["azure", "forward", "accounts", "directory"]))
def test_checking_any_text_reports_problems_and_never_raises(text: str, kind: str) -> None:
    """What an admin types is checked, never a crash: every outcome is a list of ``file:...`` problems."""
    from bridge.ops.mapping_files import check_text

    problems = check_text(kind, text, "m.yaml")  # type: ignore[arg-type]
    assert all(p.startswith("m.yaml") for p in problems)


def test_a_text_nested_too_deeply_or_an_alias_inside_itself_is_a_problem_not_a_crash() -> None:
    from bridge.ops.mapping_files import check_text

    for text in ("[" * 50_000, "a: &a [*a]\n"):
        assert check_text("forward", text, "m.yaml") == [
            "m.yaml:1: invalid YAML: nested too deeply, or an alias refers to itself"
        ]
