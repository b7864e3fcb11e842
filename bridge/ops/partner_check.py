"""`bridge partners check`'s cross-checks: the directory against the participant registry, and what it leaves
unstated (CPSD 7.1: "Each industry participant will nominate to Elexon the contact information relevant to their
organisation"; the registry, ``config/accounts.yaml``, is the truth for who the participants are).

Problems (exit 1): a party that names no organisation of the registry, an organisation the registry lacks, an
MPID the registry gives to another organisation. Notes (printed, not failing): hours the directory does not
state (the clock's default then applies), an address two e-bonded parties share (mail from it cannot tell them
apart, so it is not taken as a case raised by either).
"""

from __future__ import annotations

from collections import Counter

from bridge.accounts.model import Registry
from bridge.partners import Directory


def registry_problems(directory: Directory, registry: Registry) -> list[str]:
    """Every party must be a known organisation of the registry, with MPIDs the registry gives it."""
    problems: list[str] = []
    for partner in directory.partners:
        if not partner.organisation:
            problems.append(f"{partner.key}: names no organisation of the participant registry")
            continue
        org = registry.by_key.get(partner.organisation)
        if org is None:
            problems.append(f"{partner.key}: organisation {partner.organisation!r} is not in the participant registry")
            continue
        for mpid in partner.market_participant_ids:
            if mpid not in org.mpids:
                listed = ", ".join(org.mpids) or "none"
                problems.append(f"{partner.key}: MPID {mpid} is not {org.key}'s in the registry (it lists {listed})")
    return problems


def notes(directory: Directory) -> list[str]:
    """What the directory leaves unstated or ambiguous, for the operator to agree with the party."""
    found: list[str] = []
    for p in directory.partners:
        if not p.e_bonded:
            continue
        if p.hours is None:
            found.append(f"{p.key}: hours not stated; its response clock counts the core hours (Ops Manual 2.3.1)")
        elif not p.hours.always and p.hours.days is None:
            found.append(f"{p.key}: days of cover not stated; its response clock counts Monday to Friday")
    shared = Counter(a for p in directory.partners if p.e_bonded for a in p.inbound_addresses)
    for address, count in sorted(shared.items()):
        if count > 1:
            found.append(f"{address}: shared by {count} parties; mail from it is not taken as a case either raised")
    return found
