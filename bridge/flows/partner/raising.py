"""Raising our case to the partner's desk (CPSD 7.1.2; Ops Manual 18.5).

A case assigned (by the route's assignment map) to another party is raised once it holds what CPSD 7.1.2 asks
(:mod:`bridge.flows.partner.contents`); a case missing something is held with one work note saying what. The
raise is a create on the partner's desk through its channel's field map (or the ``case_raised`` email), and our
case waits On Hold / Awaiting Vendor until the partner resolves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import MappingError
from bridge.flows.partner import attachments, contents, sync
from bridge.flows.partner import operations as po
from bridge.flows.partner import raise_maps as pm
from bridge.flows.partner.pair import Pair, Setup
from bridge.flows.partner.sync import plain
from bridge.partners import Partner


def maybe_raise(setup: Setup, record: dict[str, Any], stored: dict[str, Any] | None, ctx: PlanContext) -> list[Planned]:
    """The raise of a case assigned to a partner, or one note saying what it lacks; nothing otherwise."""
    assert setup.opts.assignment is not None
    sys_id = plain(record.get("sys_id"))
    key = setup.opts.assignment.values.get(plain(record.get(setup.opts.assignment.field)))
    if key is None or plain(record.get("state")) in setup.done_states:
        return []
    partner = setup.directory.get(key)
    if partner is None:
        raise MappingError(f"assignment maps to partner {key!r}, which is not in the partner directory")
    po.ensure_self_link(ctx, setup.central, sys_id)
    missing = _missing(setup, partner, record)
    if missing:
        if stored is not None and stored.get("missing") == missing and stored.get("partner") == key:
            return []  # already said so once
        ctx.set_state(f"case:{sys_id}", {"status": "held", "partner": key, "missing": missing})
        note = contents.held_note(partner.name, missing) if partner.e_bonded else _no_channel_note(partner)
        return [po.on_case(setup.opts, setup.central, sys_id, "work_note", {"text": note})]
    pair = Pair(setup, partner, _raised_state(record, key, at=ctx.now), ctx)
    ops = [_create(pair, record), _hold_ours(pair), *attachments.copy(pair, "central", sys_id)]
    pair.save()
    version = (setup.raise_maps and setup.raise_maps.version_of(partner.kind)) or setup.base_version
    return [replace(op, version=version) for op in ops]  # the raise records the field map it used


def _missing(setup: Setup, partner: Partner, record: dict[str, Any]) -> list[str]:
    """What stops the raise: no agreed channel (the directory lists the party, CPSD 7.1.1 "the agreed
    communication method" is not agreed yet), or what CPSD 7.1.2 asks of the case."""
    if not partner.e_bonded:
        contact = partner.contact or "none listed"
        return [f"an agreed channel: the directory lists {partner.name} (contact: {contact}) without one"]
    opts = setup.opts.contents
    return contents.missing_contents(record, min_description=opts.min_description, extra_fields=opts.extra_fields)


def _no_channel_note(partner: Partner) -> str:
    return (
        f"Not raised to {partner.name}: the partner directory lists no agreed channel for it (contact: "
        f"{partner.contact or 'none listed'}). Contact it by those means, or agree a channel and add it to the "
        "directory: the bridge raises the case at its next change once it has one."
    )


def _raised_state(record: dict[str, Any], partner_key: str, *, at: datetime) -> dict[str, Any]:
    st = {**sync.new_pair_state(), "status": "raised", "partner": partner_key, "number": plain(record.get("number"))}
    st["our_id"] = plain(record.get("sys_id"))
    st["raised_at"] = at.isoformat()
    st["priority"] = plain(record.get("priority"))
    sync.start_journal(st, "central", plain(record.get("sys_updated_on")))
    st["seen"]["central"] = {"state": plain(record.get("state")), "priority": st["priority"]}
    return st


def _create(pair: Pair, record: dict[str, Any]) -> Planned:
    """The create on the partner's desk, with the priority their value map gives (its echo expected back)."""
    partner, setup = pair.partner, pair.setup
    priority = pair.st["priority"]
    theirs = partner.priority.outbound.get(priority, priority)
    create = pm.raise_op(setup.raise_maps, partner, setup.opts, central=setup.central, record=record, priority=theirs)
    if partner.channel != "email":
        sync.expect(pair.st, "partner", "priority", theirs)
    return create


def _hold_ours(pair: Pair) -> Planned:
    """Our case waits (On Hold / Awaiting Vendor) with a note saying where it went."""
    partner, states = pair.partner, pair.setup.states
    sync.expect(pair.st, "central", "state", states.hold)
    channel = f"by email to {partner.email}" if partner.channel == "email" else f"to its {partner.channel} desk"
    note = f"Raised to {partner.name} {channel}. This case waits (Awaiting Vendor) until the partner resolves it."
    fields = {"state": states.hold, "hold_reason": states.hold_reason, "work_notes": note}
    return pair.on_case("update", {"fields": fields})
