"""Which ServiceNow fields hold what, and the field values the registry wants an account or contact to have."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.accounts.model import Contact, Organisation
from bridge.mappings.dsl import FieldMap, apply_field_map

TRUE, FALSE = "true", "false"


class AccountMapping(BaseModel):
    """Field names on the instance; defaults suit a CSM instance with three custom ``u_`` fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_table: str = "customer_account"
    contact_table: str = "customer_contact"
    key_field: str = Field(default="u_bridge_key", description="holds the registry key: the sync identity")
    mpids_field: str = Field(default="u_market_participant_ids", description="MPIDs, sorted, comma-joined")
    roles_field: str | None = Field(
        default="u_market_roles", description="roles, sorted, comma-joined; None: not synced"
    )
    contact_role_field: str | None = Field(default="title", description="contact role; None: not synced")
    sync_parent: bool = Field(default=True, description="keep `parent` equal to `account_parent`")
    adopt_by_name: bool = Field(default=True, description="match unkeyed accounts by exact name on first sync")
    deactivate_unlisted_contacts: bool = Field(
        default=True, description="contacts of managed accounts that the registry does not list are deactivated"
    )
    separator: str = ","
    field_map: FieldMap | None = Field(
        default=None,
        description="the route's DSL map (config/mappings/<route mapping>.yaml), set by the flow when the route "
        "names one: it then gives every account field except the sync key and `active`",
    )
    field_map_label: str = "account mapping"

    @property
    def parent_fields(self) -> tuple[str, ...]:
        """The reference fields that point at the parent account."""
        return ("account_parent", "parent") if self.sync_parent else ("account_parent",)


DEFAULT_MAPPING = AccountMapping()


def is_true(value: str | None) -> bool:
    """ServiceNow booleans arrive as "true"/"false" (or "1"/"0" from some APIs)."""
    return (value or "").strip().lower() in {"true", "1"}


def account_fields(org: Organisation, mapping: AccountMapping) -> dict[str, str]:
    """Every non-reference field an active organisation's account should hold.

    With a DSL map the map decides the fields; the registry key and ``active`` are still set here, because
    they are the sync's identity and lifecycle, not a presentation choice an edit could safely drop.
    """
    if mapping.field_map is not None:
        mapped = apply_field_map(mapping.field_map, organisation_source(org), label=mapping.field_map_label)
        return {"name": org.name, **_as_text(mapped), mapping.key_field: org.key, "active": TRUE}
    values = {
        "name": org.name,
        mapping.key_field: org.key,
        mapping.mpids_field: mapping.separator.join(sorted(org.mpids)),
        "active": TRUE,
    }
    if mapping.roles_field:
        values[mapping.roles_field] = mapping.separator.join(sorted(org.roles))
    return values


def organisation_source(org: Organisation) -> dict[str, Any]:
    """What an account map reads: the registry entry as plain data."""
    return {
        "key": org.key,
        "name": org.name,
        "mpids": list(org.mpids),
        "roles": list(org.roles),
        "parent": org.parent or "",
        "contacts": len(org.contacts),
    }


def _as_text(fields: dict[str, Any]) -> dict[str, str]:
    """ServiceNow fields are text; the planner compares them as text."""
    return {name: "" if value is None else str(value) for name, value in fields.items()}


def contact_fields(contact: Contact, mapping: AccountMapping) -> dict[str, str]:
    """Every non-reference field an active contact should hold; ``name`` is computed by the platform."""
    first, _, last = " ".join(contact.name.split()).partition(" ")
    values = {"first_name": first, "last_name": last, "email": contact.email, "active": TRUE}
    if mapping.contact_role_field:
        values[mapping.contact_role_field] = contact.role
    return values


def same(field: str, current: str | None, wanted: str) -> bool:
    """Compare as the platform means it: booleans by truth, everything else exactly."""
    if field == "active":
        return is_true(current) == is_true(wanted)
    return (current or "") == wanted
