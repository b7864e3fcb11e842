"""`bridge partners check`'s cross-checks: the directory against the participant registry, and what it leaves
unstated (CPSD 7.1: "Each industry participant will nominate to Elexon the contact information relevant to their
organisation"; the registry, ``config/accounts.yaml``, is the truth for who the participants are).

Problems (exit 1): a party that names no organisation of the registry, an organisation the registry lacks, an
MPID the registry gives to another organisation. Notes (printed, not failing): hours the directory does not
state (the clock's default then applies), an address two e-bonded parties share (mail from it cannot tell them
apart, so it is not taken as a case raised by either).

Connections (:func:`check_connections`): each distinct endpoint the e-bonded desks use is tested once, naming the
desks that use it, by the adapter's own check: a ServiceNow desk's table read with its credentials, a Jira desk's
service desk and request type (a raise names both), the SMTP server's greeting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.accounts.model import Registry
from bridge.adapters import build_adapter
from bridge.adapters.servicenow import ServiceNowAdapter
from bridge.config import BridgeConfig
from bridge.partners import Directory, Partner


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


@dataclass
class ConnectionCheck:
    """One endpoint's check: the target, where it points, what it said, and the desks that use it."""

    target: str
    kind: str
    endpoint: str
    table: str | None = None
    partners: list[str] = field(default_factory=list)
    ok: bool = False
    said: str = ""


def check_connections(config: BridgeConfig, bonded: Sequence[Partner]) -> list[ConnectionCheck]:
    """Test each (target, table) the e-bonded partners use once, in the directory's order; never raises."""
    checks: dict[tuple[str, str | None], ConnectionCheck] = {}
    for partner in bonded:
        if partner.target is None:
            continue
        table = partner.table if partner.channel == "servicenow" else None
        key = (partner.target, table)
        if key not in checks:
            target = config.targets[partner.target]
            checks[key] = ConnectionCheck(partner.target, target.kind, endpoint_of(target.model_dump()), table)
        checks[key].partners.append(partner.key)
    for check in checks.values():
        _run(config, check)
    return list(checks.values())


def endpoint_of(settings: dict[str, Any]) -> str:
    """Where a target points, as an operator would look it up: its URL, or the mail server's host and port."""
    for key in ("instance_url", "base_url", "url"):
        if settings.get(key):
            return str(settings[key])
    if settings.get("host"):
        port = settings.get("port")
        scheme = "smtp" if settings.get("kind") == "email" else str(settings.get("kind") or "tcp")
        return f"{scheme}://{settings['host']}" + (f":{port}" if port else "")
    return "(no endpoint)"


def _run(config: BridgeConfig, check: ConnectionCheck) -> None:
    settings = config.targets[check.target].model_dump()
    settings.pop("kind", None)
    try:
        adapter = build_adapter(check.target, check.kind, settings)
        try:
            port = getattr(getattr(adapter, "settings", None), "effective_port", None)
            if check.kind == "email" and port:
                check.endpoint = f"smtp://{settings.get('host')}:{port}"
            if isinstance(adapter, ServiceNowAdapter):
                check.said = adapter.check(table=check.table)
            else:
                check.said = adapter.check()
            check.ok = True
        finally:
            adapter.close()
    except Exception as exc:  # every failure is reported; the next endpoint is still checked
        check.said = f"{type(exc).__name__}: {exc}"[:400]
