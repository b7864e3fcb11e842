"""A registry as plain JSON data and back, so a sync request carries the registry it was made from.

The registry source reads and validates the file, then puts this snapshot in the inbox; the account flow plans
from it (and a replay of the request plans from the same snapshot, whatever the file says by then).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bridge.accounts.model import Contact, Organisation, Registry
from bridge.errors import InputError


def to_data(registry: Registry) -> dict[str, Any]:
    return {
        "source": registry.source,
        "max_depth": registry.max_depth,
        "organisations": [asdict(org) for org in registry.organisations],
    }


def from_data(data: dict[str, Any]) -> Registry:
    orgs = tuple(_organisation(o) for o in data["organisations"])
    return Registry(orgs, source=str(data.get("source", "<registry>")), max_depth=int(data["max_depth"]))


def _organisation(data: dict[str, Any]) -> Organisation:
    contacts = tuple(Contact(**c) for c in data.get("contacts", ()))
    fields = {**data, "mpids": tuple(data.get("mpids", ())), "roles": tuple(data.get("roles", ()))}
    return Organisation(**{**fields, "contacts": contacts})


def organisation_from_json(data: dict[str, Any]) -> Organisation:
    """A registry organisation from a preview's JSON (``key``, ``name``, ``mpids``, ``roles``, ``parent``)."""
    for key in ("key", "name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InputError("required text", path=f"$.{key}")
    mpids, roles = (tuple(str(v) for v in data.get(name) or ()) for name in ("mpids", "roles"))
    return Organisation(data["key"], data["name"], mpids=mpids, roles=roles, parent=data.get("parent") or None)
