"""The reconcile planner: one step per changed record, parents first, deactivate never delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.accounts import (
    AccountMapping,
    Contact,
    Organisation,
    Registry,
    Step,
    StepKind,
    apply_plan,
    load_registry,
    plan_sync,
)
from bridge.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "accounts"
ACCOUNT, CONTACT = "customer_account", "customer_contact"


def account(sys_id: str, name: str, key: str = "", parent: str = "", **extra: str) -> dict[str, str]:
    """A customer_account as the Table API returns it with sysparm_exclude_reference_link=true."""
    record = {
        "sys_id": sys_id,
        "number": f"ACC{sys_id.upper()}",
        "name": name,
        "account_parent": parent,
        "parent": parent,
        "active": "true",
        "u_bridge_key": key,
        "u_market_participant_ids": "",
        "u_market_roles": "",
    }
    return record | extra


def contact(sys_id: str, account_id: str, email: str, first: str, last: str, **extra: str) -> dict[str, str]:
    record = {
        "sys_id": sys_id,
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "email": email,
        "account": account_id,
        "active": "true",
        "title": "Service Desk",
    }
    return record | extra


def registry(*orgs: Organisation) -> Registry:
    return Registry(orgs, source="mem")


def by_key(steps: tuple[Step, ...], key: str) -> Step:
    (step,) = [s for s in steps if s.key == key]
    return step


@pytest.fixture
def small() -> Registry:
    return load_registry(FIXTURES / "small.yaml")


def synced(reg: Registry) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return apply_plan(plan_sync(reg, [], []), [], [])


def test_first_sync_creates_everything_parents_first(small: Registry) -> None:
    plan = plan_sync(small, [], [])
    assert not plan.errors
    assert {s.kind for s in plan.steps} == {StepKind.CREATE}
    keys = [s.key for s in plan.steps if s.table == ACCOUNT]
    assert "bramble-power" not in keys  # inactive and never created: nothing to write
    for step in plan.steps:
        if step.table == ACCOUNT and step.parent_key:
            assert keys.index(step.parent_key) < keys.index(step.key)
            assert step.deferred == ("account_parent", "parent")
    supply = by_key(plan.steps, "northwind-supply")
    assert supply.sys_id is None
    assert supply.fields["u_market_participant_ids"] == "NWE2,NWES"
    assert supply.fields["u_market_roles"] == "Supplier"
    assert "account_path" not in supply.fields
    desk = by_key(plan.steps, "northwind-supply/settlement.ops@northwind.example.co.uk")
    assert (desk.table, desk.parent_key, desk.deferred) == (CONTACT, "northwind-supply", ("account",))
    assert desk.fields["first_name"] == "Northwind" and desk.fields["last_name"] == "Settlement Operations"
    assert plan.steps.index(desk) > plan.steps.index(supply)
    assert plan.count(StepKind.CREATE, CONTACT) == 3


def test_step_payload_resolves_deferred_parents() -> None:
    plan = plan_sync(registry(Organisation("p", "P"), Organisation("c", "C", parent="p")), [], [])
    child = by_key(plan.steps, "c")
    assert child.payload({"p": "abc"})["account_parent"] == "abc"
    assert child.payload({"p": "abc"})["parent"] == "abc"
    assert child.target_key == "customer_account:c"
    assert child.action == "create"
    assert child.correlation == {"table": "customer_account", "field": "u_bridge_key", "value": "c"}
    with pytest.raises(KeyError):
        child.payload({})


def test_synced_state_plans_nothing(small: Registry) -> None:
    accounts, contacts = synced(small)
    assert plan_sync(small, accounts, contacts).is_empty


def test_rename_is_one_update_with_a_diff() -> None:
    accounts = [account("a1", "Old Name Ltd", key="kestrel", active="true")]
    plan = plan_sync(registry(Organisation("kestrel", "Kestrel Energy Ltd")), accounts, [])
    (step,) = plan.steps
    assert (step.kind, step.sys_id, step.fields) == (StepKind.UPDATE, "a1", {"name": "Kestrel Energy Ltd"})
    assert step.action == "update" and not step.correlation
    assert [(c.field, c.old, c.new) for c in step.diff] == [("name", "Old Name Ltd", "Kestrel Energy Ltd")]


def test_reparent_and_rename_are_one_write() -> None:
    accounts = [
        account("g1", "Group One", key="g1"),
        account("g2", "Group Two", key="g2"),
        account("s1", "Supply", key="s1", parent="g1"),
    ]
    reg = registry(Organisation("g1", "Group One"), Organisation("g2", "Group Two"))
    reg = registry(*reg.organisations, Organisation("s1", "Supply Renamed", parent="g2"))
    (step,) = plan_sync(reg, accounts, []).steps
    assert step.kind == StepKind.REPARENT
    assert step.fields == {"name": "Supply Renamed", "account_parent": "g2", "parent": "g2"}
    assert ("account_parent", "g1", "g2") in [(c.field, c.old, c.new) for c in step.diff]
    assert len(step.diff) == 2  # the `parent` mirror is not shown twice


def test_reparent_under_a_parent_created_in_the_same_plan() -> None:
    accounts = [account("s1", "Supply", key="s1")]
    reg = registry(Organisation("new-group", "New Group"), Organisation("s1", "Supply", parent="new-group"))
    plan = plan_sync(reg, accounts, [])
    create, move = plan.steps
    assert (create.kind, create.key) == (StepKind.CREATE, "new-group")
    assert (move.kind, move.sys_id, move.parent_key, move.deferred) == (
        StepKind.REPARENT,
        "s1",
        "new-group",
        ("account_parent", "parent"),
    )
    assert move.fields == {}
    after = apply_plan(plan, accounts, [])
    assert plan_sync(reg, *after).is_empty


def test_moving_to_root_clears_the_parent() -> None:
    accounts = [account("g1", "Group", key="g1"), account("s1", "Supply", key="s1", parent="g1")]
    plan = plan_sync(registry(Organisation("g1", "Group"), Organisation("s1", "Supply")), accounts, [])
    (step,) = plan.steps
    assert step.kind == StepKind.REPARENT and step.fields == {"account_parent": "", "parent": ""}


def test_removed_and_inactive_orgs_are_deactivated_children_first() -> None:
    accounts = [
        account("g1", "Gone Group", key="gone"),
        account("c1", "Gone Child", key="gone-child", parent="g1"),
        account("r1", "Retired Ltd", key="retired"),
        account("x1", "Someone Else's", key=""),
    ]
    contacts = [
        contact("p1", "c1", "desk@gone.example.com", "Gone", "Desk"),
        contact("p2", "x1", "desk@else.example.com", "Else", "Desk"),
    ]
    reg = registry(Organisation("retired", "Retired Ltd", active=False))
    plan = plan_sync(reg, accounts, contacts)
    kinds = {(s.table, s.key): s.kind for s in plan.steps}
    assert kinds == {
        (ACCOUNT, "gone"): StepKind.DEACTIVATE,
        (ACCOUNT, "gone-child"): StepKind.DEACTIVATE,
        (ACCOUNT, "retired"): StepKind.DEACTIVATE,
        (CONTACT, "gone-child/desk@gone.example.com"): StepKind.DEACTIVATE,
    }
    order = [s.key for s in plan.steps]
    assert order.index("gone-child") < order.index("gone")
    assert order.index("gone-child/desk@gone.example.com") < order.index("gone-child")
    assert all(s.fields == {"active": "false"} for s in plan.steps)
    after = apply_plan(plan, accounts, contacts)
    assert plan_sync(reg, *after).is_empty


def test_reactivation_carries_other_changes_in_the_same_write() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel", active="false")]
    org = Organisation("kestrel", "Kestrel Energy", mpids=("KSTL",))
    (step,) = plan_sync(registry(org), accounts, []).steps
    assert step.kind == StepKind.REACTIVATE
    assert step.fields == {"name": "Kestrel Energy", "u_market_participant_ids": "KSTL", "active": "true"}


def test_booleans_compare_by_truth() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel", active="1")]
    assert plan_sync(registry(Organisation("kestrel", "Kestrel")), accounts, []).is_empty


def test_adoption_by_name_writes_the_key_once() -> None:
    accounts = [account("a1", "  northwind   ENERGY group ", key="")]
    reg = registry(Organisation("northwind", "Northwind Energy Group"))
    (step,) = plan_sync(reg, accounts, []).steps
    assert (step.kind, step.sys_id) == (StepKind.UPDATE, "a1")
    assert step.fields == {"name": "Northwind Energy Group", "u_bridge_key": "northwind"}
    after = apply_plan(plan_sync(reg, accounts, []), accounts, [])
    assert plan_sync(reg, *after).is_empty


def test_adoption_can_be_switched_off() -> None:
    accounts = [account("a1", "Northwind Energy Group", key="")]
    mapping = AccountMapping(adopt_by_name=False)
    (step,) = plan_sync(
        registry(Organisation("northwind", "Northwind Energy Group")), accounts, [], mapping=mapping
    ).steps
    assert step.kind == StepKind.CREATE


def test_key_match_wins_over_name_and_unmanaged_accounts_are_untouched() -> None:
    accounts = [
        account("a1", "Northwind", key="northwind"),
        account("a2", "Northwind", key=""),
        account("a3", "Unrelated Ltd", key=""),
    ]
    contacts = [contact("p1", "a3", "x@unrelated.example.com", "X", "Desk")]
    assert plan_sync(registry(Organisation("northwind", "Northwind")), accounts, contacts).is_empty


def test_ambiguous_name_is_an_error_and_blocks_the_plan() -> None:
    accounts = [account("a1", "Northwind", number="ACC1"), account("a2", "northwind", number="ACC2")]
    reg = registry(Organisation("northwind", "Northwind", line=7), Organisation("other", "Other"))
    plan = plan_sync(reg, accounts, [])
    assert plan.steps == ()
    (error,) = plan.errors
    assert error.startswith("mem:7: organisation 'northwind' matches 2 unkeyed") and "ACC1, ACC2" in error
    with pytest.raises(ConfigError):
        plan.raise_for_errors()
    with pytest.raises(ConfigError):
        apply_plan(plan, accounts, [])


def test_duplicate_key_is_an_error() -> None:
    accounts = [account("a1", "A", key="dup", number="ACC1"), account("a2", "B", key="dup", number="ACC2")]
    plan = plan_sync(registry(Organisation("other", "Other")), accounts, [])
    assert plan.errors == ("ServiceNow accounts ACC1, ACC2 all carry u_bridge_key='dup': keep the key on one of them",)


def test_invalid_registry_is_refused() -> None:
    with pytest.raises(ConfigError):
        plan_sync(registry(Organisation("a", "A", parent="missing")), [], [])


def _one_org_with(*people: Contact) -> Registry:
    return registry(Organisation("kestrel", "Kestrel", contacts=people))


def test_contacts_update_create_deactivate_and_reactivate() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel")]
    contacts = [
        contact("p1", "a1", "DESK@kestrel.example.com", "Kestrel", "Desk"),
        contact("p2", "a1", "old@kestrel.example.com", "Old", "Desk"),
        contact("p3", "a1", "ooh@kestrel.example.com", "Kestrel", "Out of Hours", active="false"),
    ]
    reg = _one_org_with(
        Contact("Kestrel Service Desk", "desk@kestrel.example.com", "Major Incident"),
        Contact("Kestrel Out of Hours", "ooh@kestrel.example.com", "Out of Hours"),
        Contact("Kestrel Technical", "tech@kestrel.example.com", "Technical"),
    )
    plan = plan_sync(reg, accounts, contacts)
    steps = {s.key.split("/")[1]: s for s in plan.steps}
    assert steps["desk@kestrel.example.com"].kind == StepKind.UPDATE
    assert steps["desk@kestrel.example.com"].fields == {
        "last_name": "Service Desk",
        "email": "desk@kestrel.example.com",
        "title": "Major Incident",
    }
    assert steps["ooh@kestrel.example.com"].kind == StepKind.REACTIVATE
    assert steps["tech@kestrel.example.com"].kind == StepKind.CREATE
    assert steps["tech@kestrel.example.com"].fields["account"] == "a1"
    assert steps["old@kestrel.example.com"].kind == StepKind.DEACTIVATE
    assert len(plan.steps) == 4
    assert plan_sync(reg, *apply_plan(plan, accounts, contacts)).is_empty


def test_inactive_contact_is_deactivated_not_created() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel")]
    contacts = [contact("p1", "a1", "desk@kestrel.example.com", "Kestrel", "Desk")]
    reg = _one_org_with(
        Contact("Kestrel Desk", "desk@kestrel.example.com", "Service Desk", active=False),
        Contact("Kestrel Gone", "gone@kestrel.example.com", "Service Desk", active=False),
    )
    (step,) = plan_sync(reg, accounts, contacts).steps
    assert (step.kind, step.fields) == (StepKind.DEACTIVATE, {"active": "false"})


def test_contact_moving_between_organisations() -> None:
    accounts = [account("a1", "A", key="a"), account("b1", "B", key="b")]
    contacts = [contact("p1", "a1", "shared@example.com", "Shared", "Desk")]
    person = Contact("Shared Desk", "shared@example.com", "Service Desk")
    reg = registry(Organisation("a", "A"), Organisation("b", "B", contacts=(person,)))
    plan = plan_sync(reg, accounts, contacts)
    assert {(s.key, s.kind) for s in plan.steps} == {
        ("b/shared@example.com", StepKind.CREATE),
        ("a/shared@example.com", StepKind.DEACTIVATE),
    }


def test_duplicate_contacts_for_a_listed_email_are_an_error() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel")]
    contacts = [
        contact("p1", "a1", "desk@kestrel.example.com", "Kestrel", "Desk"),
        contact("p2", "a1", "Desk@Kestrel.example.com", "Kestrel", "Desk"),
    ]
    reg = _one_org_with(Contact("Kestrel Desk", "desk@kestrel.example.com", "Service Desk", line=3, source="f"))
    (error,) = plan_sync(reg, accounts, contacts).errors
    assert error.startswith("f:3: contact 'desk@kestrel.example.com' of 'kestrel' matches 2")


def test_unlisted_duplicate_contacts_are_both_deactivated_with_distinct_keys() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel")]
    contacts = [
        contact("p1", "a1", "x@kestrel.example.com", "X", "Desk"),
        contact("p2", "a1", "x@kestrel.example.com", "X", "Desk"),
    ]
    plan = plan_sync(_one_org_with(), accounts, contacts)
    assert [s.key for s in plan.steps] == ["kestrel/x@kestrel.example.com#p1", "kestrel/x@kestrel.example.com#p2"]


def test_unlisted_contacts_can_be_left_alone() -> None:
    accounts = [account("a1", "Kestrel", key="kestrel")]
    contacts = [contact("p1", "a1", "manual@kestrel.example.com", "Manual", "Entry")]
    mapping = AccountMapping(deactivate_unlisted_contacts=False)
    assert plan_sync(_one_org_with(), accounts, contacts, mapping=mapping).is_empty


def test_mapping_names_the_fields() -> None:
    mapping = AccountMapping(
        key_field="u_key", mpids_field="u_mpids", roles_field=None, contact_role_field=None, sync_parent=False
    )
    reg = registry(
        Organisation("g", "G", mpids=("GGGG",), roles=("Supplier",)),
        Organisation("c", "C", parent="g", contacts=(Contact("C Desk", "d@c.example.com", "Service Desk"),)),
    )
    plan = plan_sync(reg, [], [], mapping=mapping)
    group, child, desk = plan.steps
    assert group.fields == {"name": "G", "u_key": "g", "u_mpids": "GGGG", "active": "true"}
    assert child.deferred == ("account_parent",)
    assert "title" not in desk.fields
    accounts, contacts = apply_plan(plan, [], [], mapping=mapping)
    assert plan_sync(reg, accounts, contacts, mapping=mapping).is_empty


def test_parent_mirror_is_realigned_when_it_drifts() -> None:
    accounts = [account("g1", "G", key="g"), account("c1", "C", key="c", parent="g1") | {"parent": ""}]
    (step,) = plan_sync(registry(Organisation("g", "G"), Organisation("c", "C", parent="g")), accounts, []).steps
    assert (step.kind, step.fields) == (StepKind.UPDATE, {"parent": "g1"})
    assert [(d.field, d.old, d.new) for d in step.diff] == [("parent", "(none)", "g")]


def test_account_path_consistency_is_reported_not_written() -> None:
    accounts = [
        account("g1", "G", key="g", account_path="~1"),
        account("c1", "C", key="c", parent="g1", account_path="~9/~2"),
        account("e1", "E", key="e", account_path=""),
        account("r1", "R", key="r", account_path="~1/~4"),
    ]
    reg = registry(Organisation("g", "G"), Organisation("c", "C", parent="g"), Organisation("e", "E"))
    reg = registry(*reg.organisations, Organisation("r", "R"))
    plan = plan_sync(reg, accounts, [])
    assert plan.is_empty
    assert len(plan.warnings) == 3
    assert any("ACCC1 (C): account_path '~9/~2'" in w for w in plan.warnings)
    assert any("ACCE1 (E): empty account_path" in w for w in plan.warnings)
    assert any("ACCR1 (R): root account" in w for w in plan.warnings)
    after, _ = apply_plan(plan, accounts, [])
    assert not plan_sync(reg, after, []).warnings
