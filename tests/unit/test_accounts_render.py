"""Plan table and hierarchy tree rendering, and the package's public names."""

from __future__ import annotations

import bridge.accounts
from bridge.accounts import Organisation, Registry, SyncPlan, plan_sync, render_plan_table, render_tree


def account(sys_id: str, name: str, key: str = "", parent: str = "", active: str = "true") -> dict[str, str]:
    return {
        "sys_id": sys_id,
        "number": f"ACC{sys_id}",
        "name": name,
        "account_parent": parent,
        "parent": parent,
        "active": active,
        "u_bridge_key": key,
    }


REGISTRY = Registry(
    (
        Organisation("g1", "Group One"),
        Organisation("g2", "Group Two"),
        Organisation("s1", "Supply Renamed", parent="g2"),
        Organisation("s2", "Supply Two", parent="g1"),
        Organisation("adopt", "Adopted Ltd", parent="g1"),
        Organisation("new", "Brand New Ltd", parent="g1"),
        Organisation("sleepy", "Sleepy Ltd"),
    ),
    source="mem",
)
ACCOUNTS = [
    account("1", "Group One", key="g1"),
    account("2", "Group Two", key="g2"),
    account("3", "Supply", key="s1", parent="1"),
    account("4", "Supply Two", key="s2", parent="1"),
    account("5", "Adopted Ltd", parent="1"),
    account("6", "Gone Ltd", key="gone", parent="2"),
    account("7", "Manual Ltd"),
    account("8", "Sleepy Ltd", key="sleepy", active="false"),
    account("9", "Loop A", parent="10"),
    account("10", "Loop B", parent="9"),
]


def test_plan_table_lists_each_write_with_its_diff() -> None:
    text = render_plan_table(plan_sync(REGISTRY, ACCOUNTS, []))
    lines = text.splitlines()
    assert lines[0].split() == ["ACTION", "RECORD", "KEY", "NAME", "DETAILS"]
    row = next(line for line in lines if " s1 " in line)
    assert row.startswith("reparent") and 'name: "Supply" -> "Supply Renamed"' in row and "parent: g1 -> g2" in row
    assert any(line.startswith("create") and "parent: g1" in line for line in lines)
    assert any(line.startswith("update") and 'u_bridge_key: "" -> "adopt"' in line for line in lines)
    assert any(line.startswith("reactivate") and " sleepy " in line for line in lines)
    assert any(line.startswith("deactivate") and " gone " in line for line in lines)
    assert "5 writes: 1 account create, 1 account deactivate, 1 account reactivate, 1 account reparent, " in text


def test_plan_table_for_nothing_and_for_errors() -> None:
    assert render_plan_table(SyncPlan()) == "No changes: ServiceNow matches the registry.\n"
    text = render_plan_table(SyncPlan(errors=("two accounts claim key x",), warnings=("path off",)))
    assert text.startswith("ERRORS (nothing will be written until they are fixed):\n  two accounts claim key x")
    assert "Warnings:\n  path off" in text


def test_tree_shows_servicenow_hierarchy_marked_against_registry() -> None:
    text = render_tree(ACCOUNTS, REGISTRY)
    assert "Group One [g1]\n├── Adopted Ltd [adopt]  ! matched by name, key not yet written\n" in text
    assert '├── Supply [s1]  ! name differs (registry: "Supply Renamed"); wrong parent (registry: g2)' in text
    assert "└── Supply Two [s2]\n" in text
    assert "Group Two [g2]\n└── Gone Ltd [gone]  ! extra: not in registry\n" in text
    assert "Manual Ltd  ! unmanaged (no key)" in text
    assert "Sleepy Ltd [sleepy]  ! inactive (registry: active)" in text
    assert "Missing from ServiceNow (registry has them, active):\n  Brand New Ltd [new] (parent: g1)" in text
    assert "Unreachable (parent cycle in ServiceNow):\n  Loop A (ACC9)\n  Loop B (ACC10)" in text


def test_tree_nests_with_box_characters() -> None:
    registry = Registry(
        (Organisation("a", "A"), Organisation("b", "B", parent="a"), Organisation("c", "C", parent="b")),
        source="mem",
    )
    accounts = [account("1", "A", "a"), account("2", "B", "b", "1"), account("3", "C", "c", "2")]
    accounts.append(account("4", "D", "", "1"))
    assert render_tree(accounts, registry) == ("A [a]\n├── B [b]\n│   └── C [c]\n└── D  ! unmanaged (no key)\n")


def test_public_names_are_pinned() -> None:
    assert sorted(bridge.accounts.__all__) == [
        "AccountMapping",
        "CONTACT_ROLES",
        "Contact",
        "DEFAULT_MAPPING",
        "DEFAULT_MAX_DEPTH",
        "FieldChange",
        "Organisation",
        "ROLES",
        "Registry",
        "Step",
        "StepKind",
        "SyncPlan",
        "apply_plan",
        "check_registry",
        "generate_change_set",
        "generate_registry",
        "load_registry",
        "plan_sync",
        "render_plan_table",
        "render_tree",
        "validate_registry",
    ]
