"""Loading the participant registry from YAML and CSV, with source lines, and validating it all at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bridge.accounts import DEFAULT_MAX_DEPTH, Contact, Organisation, Registry, load_registry
from bridge.accounts.validate import validate_registry
from bridge.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "accounts"
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "accounts.yaml"


def marked_line(path: Path, marker: str) -> int:
    """Line number of the fixture line carrying ``# <- marker``."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if f"# <- {marker}" in text:
            return number
    raise AssertionError(f"marker {marker!r} not in {path}")


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_registry(path, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def test_yaml_and_csv_load_the_same_registry() -> None:
    from_yaml = load_registry(FIXTURES / "small.yaml")
    from_csv = load_registry(FIXTURES / "small.csv")
    assert from_yaml == from_csv
    assert len(from_yaml.organisations) == 6


def test_lines_are_kept_for_organisations_and_contacts() -> None:
    registry = load_registry(FIXTURES / "small.yaml")
    supply = registry.by_key["northwind-supply"]
    text = (FIXTURES / "small.yaml").read_text().splitlines()
    assert "key: northwind-supply" in text[supply.line - 1]
    assert "settlement.ops@" in text[supply.contacts[0].line - 1]
    csv_supply = load_registry(FIXTURES / "small.csv").by_key["northwind-supply"]
    assert csv_supply.line == 5
    assert csv_supply.contacts[1].line == 4
    assert csv_supply.contacts[1].source.endswith("small.contacts.csv")


def test_roles_and_contact_roles_are_canonicalised() -> None:
    registry = load_registry(FIXTURES / "small.yaml")
    assert registry.by_key["elexon-dip"].roles == ("DIP Operator",)
    assert registry.by_key["northwind-supply"].roles == ("Supplier",)
    assert registry.by_key["northwind-metering"].roles == ("Supplier Agent",)
    assert registry.by_key["northwind-supply"].contacts[1].role == "Out of Hours"


def test_file_max_depth_is_read_and_can_be_overridden(tmp_path: Path) -> None:
    assert load_registry(FIXTURES / "small.yaml").max_depth == 3
    assert load_registry(FIXTURES / "small.csv").max_depth == DEFAULT_MAX_DEPTH
    assert load_registry(FIXTURES / "small.yaml", max_depth=2).max_depth == 2


def test_bare_list_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- {key: solo, name: Solo Energy, roles: [Supplier]}\n")
    assert load_registry(path).organisations == (Organisation("solo", "Solo Energy", roles=("Supplier",)),)


def test_example_config_is_valid_and_realistic() -> None:
    registry = load_registry(EXAMPLE)
    assert 40 <= len(registry.organisations) <= 100  # with the 33 desks of Ops Manual Appendix H
    keys = registry.by_key
    assert {"elexon", "smart-dcc", "northwind"} <= set(keys)
    assert sum(1 for org in registry.organisations if org.parent == "northwind") >= 3
    roles = {role for org in registry.organisations for role in org.roles}
    assert {"Supplier", "Supplier Agent", "LDSO", "MPAS Help Desk", "DCP", "Software Provider"} <= roles
    emails = [c.email for org in registry.organisations for c in org.contacts]
    assert emails and all(e.endswith((".example.com", ".example.co.uk")) for e in emails)


def test_every_yaml_problem_is_reported_at_once_with_its_line() -> None:
    path = FIXTURES / "invalid.yaml"
    problems = problems_of(path)
    expected = {
        "cycle alpha": "parent cycle: alpha -> gamma -> beta -> alpha",
        "unknown parent": "unknown parent 'nowhere'",
        "self parent": "is its own parent",
        "duplicate key": "duplicate key",
        "bad MPID": "bad MPID 'ab12'",
        "MPID clash": "MPID 'SHRD' already belongs to 'shared-one'",
        "unknown role": "unknown role 'Wizard'",
        "bad email": "bad email 'not-an-email'",
        "too deep": "depth 4 exceeds max_depth 3",
        "shape": "mpids: Input should be a valid list",
    }
    for marker, message in expected.items():
        where = f"{path}:{marked_line(path, marker)}:"
        assert any(p.startswith(where) and message in p for p in problems), (marker, problems)
    assert any("colour: Extra inputs are not permitted" in p for p in problems)
    assert len(problems) == len(expected) + 1
    assert problems == sorted(problems, key=lambda p: int(p.split(":")[1]))


def test_every_csv_problem_is_reported_with_the_right_file_and_line() -> None:
    path = FIXTURES / "invalid.csv"
    contacts = FIXTURES / "invalid.contacts.csv"
    problems = problems_of(path)
    assert f"{contacts}:2: contact of 'beta': bad email 'beta@@example.com'" in problems
    assert f"{contacts}:3: contact for unknown organisation 'ghost'" in problems
    assert any(p.startswith(f"{path}:2:") and "bad MPID 'ab12'" in p for p in problems)
    assert f"{path}:2: organisation 'alpha': is its own parent" in problems
    assert any(p.startswith(f"{path}:3:") and "unknown role 'Wizard'" in p for p in problems)
    assert f"{path}:3: organisation 'beta': unknown parent 'nowhere'" in problems
    assert any(p.startswith(f"{path}:4:") and "active:" in p for p in problems)
    assert len(problems) == 7


def test_csv_needs_its_contacts_file(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("key,name,mpids,roles,parent,active\nsolo,Solo Energy,SOLO,Supplier,,\n")
    assert any("contacts file not found" in p for p in problems_of(path))
    explicit = tmp_path / "people.csv"
    explicit.write_text("organisation,name,email,role,active\n")
    assert len(load_registry(path, contacts_path=explicit).organisations) == 1


def test_csv_with_wrong_columns_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("key,title\nsolo,Solo\n")
    (tmp_path / "orgs.contacts.csv").write_text("organisation,name,email,role,active\n")
    assert problems_of(path) == [f"{path}:1: columns must be key,name,mpids,roles,parent,active (found key,title)"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("organisations:\n  - key: a\n    name: [unclosed\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:") and "not valid YAML" in problem


def test_top_level_problems(tmp_path: Path) -> None:
    path = tmp_path / "top.yaml"
    path.write_text("max_depth: 0\nextra: 1\norganisations: []\n")
    problems = problems_of(path)
    assert f"{path}:1: max_depth must be a whole number >= 1" in problems
    assert f"{path}:2: unknown top-level key 'extra'" in problems


def _registry(*orgs: Organisation) -> Registry:
    return Registry(orgs, source="mem", max_depth=3)


def test_more_validation_rules() -> None:
    registry = _registry(
        Organisation("parent", "Parent", active=False, line=1),
        Organisation("child", "Child", parent="parent", line=2),
        Organisation("Bad Key", "parent", line=3),
        Organisation("twice", "Twice", mpids=("TWIC", "TWIC"), line=4),
        Organisation(
            "people",
            "People",
            contacts=(
                Contact("A Desk", "desk@people.example.com", "Service Desk", line=6),
                Contact("B Desk", "DESK@people.example.com", "Wizardry", line=7),
            ),
            line=5,
        ),
    )
    problems = validate_registry(registry)
    assert "mem:2: organisation 'child': active, but its parent 'parent' is inactive" in problems
    assert any(p.startswith("mem:3:") and "bad key" in p for p in problems)
    assert any(p.startswith("mem:3:") and "duplicate name 'parent'" in p for p in problems)
    assert "mem:4: organisation 'twice': MPID 'TWIC' listed twice" in problems
    assert any(p.startswith("mem:7:") and "unknown contact role 'Wizardry'" in p for p in problems)
    assert any(p.startswith("mem:7:") and "listed twice" in p for p in problems)
    assert len(problems) == 6


@pytest.mark.parametrize(
    "email", ["a@b", "@example.com", "a@.example.com", "a..b@example.com", ".a@example.com", "a b@example.com"]
)
def test_bad_emails(email: str) -> None:
    org = Organisation("o", "O", contacts=(Contact("Desk", email, "Service Desk", line=2),), line=1)
    assert any("bad email" in p for p in validate_registry(_registry(org)))


def test_good_email_passes() -> None:
    contact = Contact("Desk", "first.last+mhhs@sub.example.co.uk", "Service Desk")
    assert validate_registry(_registry(Organisation("o", "O", contacts=(contact,)))) == []


def test_long_cycle_is_named_once_and_depth_is_not_reported_for_it() -> None:
    orgs = [Organisation(f"o{i}", f"O{i}", parent=f"o{(i + 1) % 6}", line=i + 1) for i in range(6)]
    problems = validate_registry(_registry(*orgs))
    assert problems == ["mem:1: organisation 'o0': parent cycle: o0 -> o1 -> o2 -> o3 -> o4 -> o5 -> o0"]


def test_equality_ignores_lines() -> None:
    org = Organisation("o", "O", line=1)
    assert _registry(org) == _registry(replace(org, line=99))
