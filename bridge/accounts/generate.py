"""Synthetic registries for tests and benchmarks: deterministic for a seed, always valid.

:func:`generate_change_set` changes disjoint sets of organisations, so each change is exactly one account
step and the expected plan counts are known in advance.
"""

from __future__ import annotations

import random
from dataclasses import replace

from bridge.accounts.model import ROLES, Contact, Organisation, Registry

_WORDS = ("Northwind", "Helios", "Aurora", "Kestrel", "Lattice", "Tidewater", "Meridian", "Quayside", "Bramble")
_KINDS = ("Energy", "Power", "Networks", "Metering", "Data Services", "Utilities", "Software", "Connect")
_MPID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def generate_registry(n_orgs: int = 2000, levels: int = 3, seed: int = 0) -> Registry:
    """``n_orgs`` organisations in ``levels`` levels, each level about four times the one above."""
    rng = random.Random(seed)
    sizes = _level_sizes(n_orgs, levels)
    orgs: list[Organisation] = []
    previous: list[str] = []
    for size in sizes:
        current: list[str] = []
        for _ in range(size):
            parent = rng.choice(previous) if previous else None
            org = _org(len(orgs), parent, rng)
            orgs.append(org)
            current.append(org.key)
        previous = current
    return Registry(tuple(orgs), source="<generated>", max_depth=max(levels, 1))


def _level_sizes(n_orgs: int, levels: int) -> list[int]:
    weights = [4**i for i in range(max(levels, 1))]
    sizes = [max(1, n_orgs * w // sum(weights)) for w in weights]
    sizes[-1] += n_orgs - sum(sizes)
    return [s for s in sizes if s > 0]


def _org(index: int, parent: str | None, rng: random.Random) -> Organisation:
    key = f"org-{index:05d}"
    name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)} {index:05d}"
    roles = tuple(sorted(rng.sample(ROLES, rng.randint(1, 2))))
    contacts = tuple(_contact(key, n) for n in range(rng.randint(0, 2)))
    return Organisation(key, name, (_mpid(index),), roles, parent, contacts)


def _contact(key: str, n: int) -> Contact:
    role = ("Service Desk", "Out of Hours")[n % 2]
    return Contact(f"{key.title()} {role}", f"{role.lower().replace(' ', '-')}@{key}.example.com", role)


def _mpid(index: int) -> str:
    """A unique, well-formed MPID per index (base 36, 4 characters: 1.6 million of them)."""
    digits = []
    for _ in range(4):
        index, rest = divmod(index, 36)
        digits.append(_MPID_ALPHABET[rest])
    return "".join(reversed(digits))


def generate_change_set(
    registry: Registry,
    *,
    renames: int = 40,
    reparents: int = 50,
    deactivations: int = 20,
    new: int = 30,
    seed: int = 0,
) -> Registry:
    """A changed copy: renames, moves (same depth), leaves removed or marked inactive, new organisations."""
    rng = random.Random(seed)
    orgs = {org.key: org for org in registry.organisations}
    with_children = {org.parent for org in orgs.values() if org.parent}
    leaves = sorted(k for k in orgs if k not in with_children)
    retired = set(rng.sample(leaves, deactivations))
    movable = sorted(k for k, o in orgs.items() if o.parent and k not in retired)
    moved = set(rng.sample(movable, reparents))
    stable = sorted(set(orgs) - retired - moved)
    renamed = set(rng.sample(stable, renames))
    for key in renamed:
        orgs[key] = replace(orgs[key], name=f"{orgs[key].name} Renamed")
    for key in sorted(moved):
        orgs[key] = replace(orgs[key], parent=_new_parent(registry, orgs[key], retired, rng))
    for i, key in enumerate(sorted(retired)):
        if i % 2:
            orgs[key] = replace(orgs[key], active=False)
        else:
            del orgs[key]
    result = [*orgs.values(), *_new_orgs(registry, retired, new, rng)]
    return Registry(tuple(result), source="<generated change set>", max_depth=registry.max_depth)


def _new_parent(registry: Registry, org: Organisation, retired: set[str], rng: random.Random) -> str:
    """Another organisation at the same depth as the current parent, so depths (and limits) stay put."""
    depth = registry.depth[org.key] - 1
    candidates = [o.key for o in registry.organisations if registry.depth[o.key] == depth]
    candidates = [k for k in candidates if k != org.parent and k not in retired]
    return rng.choice(candidates)


def _new_orgs(registry: Registry, retired: set[str], count: int, rng: random.Random) -> list[Organisation]:
    """New organisations, some under other new ones, so the plan must resolve parents it creates itself."""
    depth = registry.depth
    parents = [o.key for o in registry.organisations if depth[o.key] < registry.max_depth and o.key not in retired]
    start = len(registry.organisations)
    created: list[Organisation] = []
    new_depth: dict[str, int] = {}
    for i in range(count):
        shallow_new = [o.key for o in created if new_depth[o.key] < registry.max_depth]
        pool = shallow_new if shallow_new and rng.random() < 0.3 else parents
        parent = rng.choice(pool) if pool else None
        org = _org(start + i, parent, rng)
        new_depth[org.key] = 1 + new_depth.get(parent or "", depth.get(parent or "", 0))
        created.append(org)
    return created
