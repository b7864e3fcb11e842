"""Applying a plan and planning again gives nothing to do; the 2,000-organisation change set counts exactly."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.accounts import (
    Contact,
    Organisation,
    Registry,
    StepKind,
    SyncPlan,
    apply_plan,
    generate_change_set,
    generate_registry,
    load_registry,
    plan_sync,
)
from bridge.accounts.mapping import is_true
from bridge.accounts.validate import validate_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "accounts.yaml"
ACCOUNT, CONTACT = "customer_account", "customer_contact"
Records = list[dict[str, str]]


def one_write_per_record(plan: SyncPlan) -> None:
    targets = [s.target_key for s in plan.steps]
    assert len(targets) == len(set(targets))
    sys_ids = [s.sys_id for s in plan.steps if s.sys_id is not None]
    assert len(sys_ids) == len(set(sys_ids))


def assert_holds(registry: Registry, accounts: Records) -> None:
    """ServiceNow now mirrors the registry: every active organisation, named and parented as listed."""
    by_key = {a["u_bridge_key"]: a for a in accounts if a.get("u_bridge_key")}
    key_of = {a["sys_id"]: k for k, a in by_key.items()}
    for org in registry.organisations:
        record = by_key.get(org.key)
        if not org.active:
            assert record is None or not is_true(record["active"])
            continue
        assert record is not None and is_true(record["active"]) and record["name"] == org.name
        assert key_of.get(record["account_parent"]) == org.parent
        assert record["parent"] == record["account_parent"]


def test_example_config_first_sync_reaches_a_fixed_point() -> None:
    registry = load_registry(EXAMPLE)
    plan = plan_sync(registry, [], [])
    accounts, contacts = apply_plan(plan, [], [])
    assert_holds(registry, accounts)
    again = plan_sync(registry, accounts, contacts)
    assert again.is_empty and not again.warnings


def test_two_thousand_org_change_set_gives_exactly_the_expected_steps() -> None:
    base = generate_registry(n_orgs=2000, levels=3, seed=0)
    assert validate_registry(base) == []
    accounts, contacts = apply_plan(plan_sync(base, [], []), [], [])
    changed = generate_change_set(base, renames=40, reparents=50, deactivations=20, new=30, seed=1)
    assert validate_registry(changed) == []

    plan = plan_sync(changed, accounts, contacts)

    account_steps = Counter(s.kind for s in plan.steps if s.table == ACCOUNT)
    assert account_steps == {
        StepKind.CREATE: 30,
        StepKind.REPARENT: 50,
        StepKind.DEACTIVATE: 20,
        StepKind.UPDATE: 40,
    }
    new_keys = set(changed.by_key) - set(base.by_key)
    gone = [o for o in base.organisations if o.key not in changed.by_key or not changed.by_key[o.key].active]
    assert plan.count(StepKind.CREATE, CONTACT) == sum(len(changed.by_key[k].contacts) for k in new_keys)
    assert plan.count(StepKind.DEACTIVATE, CONTACT) == sum(len(o.contacts) for o in gone)
    assert plan.count(StepKind.UPDATE, CONTACT) == 0
    assert any(s.deferred for s in plan.steps if s.kind == StepKind.REPARENT or s.parent_key in new_keys)
    one_write_per_record(plan)

    after_accounts, after_contacts = apply_plan(plan, accounts, contacts)
    assert_holds(changed, after_accounts)
    assert plan_sync(changed, after_accounts, after_contacts).is_empty


def test_generators_are_deterministic_per_seed() -> None:
    assert generate_registry(300, seed=4) == generate_registry(300, seed=4)
    assert generate_registry(300, seed=4) != generate_registry(300, seed=5)
    base = generate_registry(300, levels=4, seed=2)
    assert max(base.depth.values()) == 4 and validate_registry(base) == []
    changed = generate_change_set(base, renames=5, reparents=5, deactivations=5, new=5, seed=3)
    assert changed == generate_change_set(base, renames=5, reparents=5, deactivations=5, new=5, seed=3)
    assert validate_registry(changed) == []


# --- property: any registry, any (messed-up) ServiceNow state ------------------------------------------------

NAMES = ("Alpha", "Beta", "Gamma", "Delta")
EMAILS = ("desk", "ooh", "tech")


@st.composite
def registries(draw: st.DrawFn) -> Registry:
    """Small valid registries over a shared key space, so two draws overlap (renames, moves, removals)."""
    indices = draw(st.lists(st.integers(0, 9), unique=True, max_size=8).map(sorted))
    orgs: list[Organisation] = []
    for position, i in enumerate(indices):
        parent = draw(st.none() | st.sampled_from(orgs)) if orgs else None
        active = draw(st.booleans()) and (parent is None or parent.active)
        name = f"{draw(st.sampled_from(NAMES))} {i}"
        mpids = tuple(draw(st.sets(st.sampled_from([f"A{i:03d}", f"B{i:03d}"]))))
        people = tuple(
            Contact(
                f"{name} {box}",
                f"{box}@k{i}.example.com",
                draw(st.sampled_from(["Service Desk", "Technical"])),
                active=draw(st.booleans()),
            )
            for box in draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=2))
        )
        key = f"k{i}"
        orgs.append(
            Organisation(
                key, name, mpids, ("Supplier",), parent.key if parent else None, people, active, line=position + 1
            )
        )
    return Registry(tuple(orgs), source="drawn", max_depth=10)


@st.composite
def variants(draw: st.DrawFn, registry: Registry) -> Registry:
    """The same registry after a round of edits: renames, moves to an earlier organisation, retirements."""
    orgs: list[Organisation] = []
    for org in registry.organisations:
        name = f"{org.name} v2" if draw(st.booleans()) else org.name
        choice = draw(st.sampled_from(["(keep)", "(root)", *[o.key for o in orgs]]))
        parent_key = {"(keep)": org.parent, "(root)": None}.get(choice, choice)
        parent_org = next((o for o in orgs if o.key == parent_key), None)
        active = org.active and draw(st.integers(0, 4)) > 0 and (parent_org is None or parent_org.active)
        orgs.append(replace(org, name=name, parent=parent_key, active=active))
    return Registry(tuple(orgs), source="drawn", max_depth=10)


@st.composite
def messed_up(draw: st.DrawFn, accounts: Records, contacts: Records) -> tuple[Records, Records]:
    """Hand edits people make in ServiceNow: renames, toggles, moves, lost keys, stray records."""
    accounts = [dict(a) for a in accounts]
    ids = [a["sys_id"] for a in accounts]
    for record in accounts:
        edit = draw(st.sampled_from(["none", "name", "active", "parent", "unkey", "mpids"]))
        if edit == "name":
            record["name"] = f"{draw(st.sampled_from(NAMES))} {draw(st.integers(0, 9))}"
        elif edit == "active":
            record["active"] = "false" if is_true(record["active"]) else "true"
        elif edit == "parent" and ids:
            record["account_parent"] = record["parent"] = draw(st.sampled_from(["", *ids]))
        elif edit == "unkey":
            record["u_bridge_key"] = ""
        elif edit == "mpids":
            record["u_market_participant_ids"] = "ZZZZ"
    for n in range(draw(st.integers(0, 3))):
        name = f"{draw(st.sampled_from(NAMES))} {draw(st.integers(0, 9))}"
        accounts.append(
            {
                "sys_id": f"stray{n}",
                "number": f"STR{n}",
                "name": name,
                "account_parent": "",
                "parent": "",
                "account_path": f"S{n}",
                "active": "true",
                "u_bridge_key": "",
            }
        )
    contacts = [dict(c) for c in contacts]
    all_ids = [a["sys_id"] for a in accounts]
    for n in range(draw(st.integers(0, 3)) if all_ids else 0):
        contacts.append(
            {
                "sys_id": f"person{n}",
                "name": "Stray Person",
                "first_name": "Stray",
                "last_name": "Person",
                "email": f"{draw(st.sampled_from(EMAILS))}@k{n}.example.com",
                "account": draw(st.sampled_from(all_ids)),
                "active": "true",
                "title": "",
            }
        )
    return accounts, contacts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=registries(), after=registries(), data=st.data())
def test_plan_then_apply_then_plan_is_empty(before: Registry, after: Registry, data: st.DataObject) -> None:
    accounts, contacts = apply_plan(plan_sync(before, [], []), [], [])
    accounts, contacts = data.draw(messed_up(accounts, contacts))
    after = data.draw(st.sampled_from([after, before]) | variants(before))
    assert validate_registry(after) == []
    plan = plan_sync(after, accounts, contacts)
    if plan.errors:  # an ambiguity the edits created: the planner must refuse, and write nothing
        assert plan.steps == ()
        return
    one_write_per_record(plan)
    untouchable = {a["sys_id"] for a in accounts if not a.get("u_bridge_key")} - {
        a["sys_id"] for a in accounts if any(a["name"] == o.name for o in after.organisations)
    }
    assert not {s.sys_id for s in plan.steps if s.table == ACCOUNT} & untouchable
    new_accounts, new_contacts = apply_plan(plan, accounts, contacts)
    assert_holds(after, new_accounts)
    again = plan_sync(after, new_accounts, new_contacts)
    assert again.is_empty, again.steps
