"""Account fields from the DSL map config/mappings/account-to-customer-account.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.accounts import AccountMapping, apply_plan, load_registry, plan_sync
from bridge.accounts.mapping import account_fields
from bridge.errors import MappingError
from bridge.mappings.dsl import FieldMap, load_field_map

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "mappings" / "account-to-customer-account.yaml"
EXAMPLE = ROOT / "config" / "accounts.yaml"


def with_map(field_map: FieldMap) -> AccountMapping:
    return AccountMapping(field_map=field_map, field_map_label=str(SHIPPED))


def test_the_shipped_map_gives_exactly_the_built_in_fields() -> None:
    registry = load_registry(EXAMPLE)
    mapping = with_map(load_field_map(SHIPPED))
    for org in registry.organisations:
        assert account_fields(org, mapping) == account_fields(org, AccountMapping()), org.key


def test_a_custom_field_syncs_to_a_fixed_point() -> None:
    shipped = load_field_map(SHIPPED)
    extra = FieldMap.model_validate(
        {
            "fields": {
                **{name: rule.model_dump(by_alias=True, exclude_unset=True) for name, rule in shipped.fields.items()},
                "u_roles_upper": {"from": "roles", "transform": ["sort", {"join": " / "}, "upper"]},
                "u_group": {"const": "child", "when": {"not": {"path": "parent", "equals": ""}}},
            }
        }
    )
    registry = load_registry(EXAMPLE)
    mapping = with_map(extra)
    plan = plan_sync(registry, [], [], mapping=mapping)
    children = [s for s in plan.steps if s.table == "customer_account" and s.parent_key]
    assert children and all(s.fields["u_group"] == "child" for s in children)
    accounts, contacts = apply_plan(plan, [], [], mapping=mapping)
    assert plan_sync(registry, accounts, contacts, mapping=mapping).is_empty


def test_the_key_and_active_are_always_the_bridges() -> None:
    org = load_registry(EXAMPLE).organisations[0]
    hostile = FieldMap.model_validate({"fields": {"active": {"const": "false"}, "u_bridge_key": {"const": "x"}}})
    fields = account_fields(org, with_map(hostile))
    assert fields["active"] == "true" and fields["u_bridge_key"] == org.key


def test_a_failing_map_names_the_file_and_field() -> None:
    org = load_registry(EXAMPLE).organisations[0]
    broken = FieldMap.model_validate({"fields": {"u_x": {"from": "nothing.here"}}})
    with pytest.raises(MappingError, match=r"account-to-customer-account.yaml: field 'u_x'"):
        account_fields(org, with_map(broken))
