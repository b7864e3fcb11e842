"""Raising our case to the partner's desk (CPSD 7.1; Ops Manual 18.5.1-18.5.3).

"Elexon will raise cases to External Parties ... where it identifies that an issue resides outside of its own
service boundary" (7.1), "using the agreed communication method for each party" (7.1.1), with "a clear
description of the issue and its impact, reference details ..., relevant supporting evidence" (7.1.2).

A case routed to a party (:mod:`.routing`) is raised once it holds what 7.1.2 asks (:mod:`.contents`); a case
missing something, or routed to a party with no agreed channel, is held with one work note saying why. The raise
is a create on the party's desk through its channel's field map (or the ``case_raised`` email), planned with
``report``: its outcome comes back as an event. Only when the party's ticket exists does our case wait (On Hold /
Awaiting Vendor, a work note saying where it went) and the party's response clock start (:func:`confirmed`); a
create that is dead-lettered leaves our case as it was, with a work note saying it was not raised and why, and
the admin page lists it (:func:`failed`); retrying the dead letter brings the outcome again and completes the
raise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import MappingError
from bridge.flows.partner import attachments, contents, routing, sync
from bridge.flows.partner import operations as po
from bridge.flows.partner import raise_maps as pm
from bridge.flows.partner.pair import Pair, Setup
from bridge.flows.partner.sync import plain
from bridge.partners import Partner

#: what the raise is on each channel, for the notes on our case
DESK = {"servicenow": "an incident on its ServiceNow desk", "jira": "a request on its Jira Service Management desk"}


def maybe_raise(setup: Setup, record: dict[str, Any], stored: dict[str, Any] | None, ctx: PlanContext) -> list[Planned]:
    """The raise of a case routed to a partner, or one note saying why it is held; nothing otherwise."""
    routed = routing.party_for(setup, record)
    if (routed.key is None and routed.problem is None) or plain(record.get("state")) in setup.done_states:
        return []
    if stored is not None and stored.get("status") != "held" and stored.get("assigned") == _assigned(setup, record):
        return []  # the pair ended (returned, withdrawn): raised again only once the desk routes the case again
    return raise_to(setup, routed, record, stored, ctx)


def raise_to(
    setup: Setup, routed: routing.Routed, record: dict[str, Any], stored: dict[str, Any] | None, ctx: PlanContext
) -> list[Planned]:
    """The raise to the routed party, or one note saying why it is held (a re-route's second half too)."""
    sys_id = plain(record.get("sys_id"))
    po.ensure_self_link(ctx, setup.central, sys_id)
    if routed.problem is not None:
        return _held(setup, ctx, sys_id, stored, "", [routed.problem], "Not raised to another party")
    assert routed.key is not None
    partner = setup.directory.get(routed.key)
    if partner is None:
        raise MappingError(f"assignment maps to partner {routed.key!r}, which is not in the partner directory")
    missing = _missing(setup, partner, record)
    if missing:
        intro = contents.held_intro(partner.name) if partner.e_bonded else _no_channel_intro(partner)
        return _held(setup, ctx, sys_id, stored, partner.key, missing, intro)
    return start(setup, partner, record, ctx, history=(stored or {}).get("history", []))


def start(setup: Setup, partner: Partner, record: dict[str, Any], ctx: PlanContext, **extra: Any) -> list[Planned]:
    """The create on the partner's desk (or the reopen of the ticket it had for this case before); the pair waits
    for its outcome (status ``raising``)."""
    pair = Pair(setup, partner, _raising_state(setup, record, partner.key, **extra), ctx)
    earlier = partner.channel != "email" and ctx.link(setup.central, pair.our_id, partner.via) is not None
    first, *rest = _again(pair) if earlier else [_create(pair, record)]
    pair.save()
    version = (setup.raise_maps and setup.raise_maps.version_of(partner.kind)) or setup.base_version
    return [replace(first, report=True, version=version), *rest]  # the raise records the field map it used


def _held(
    setup: Setup,
    ctx: PlanContext,
    sys_id: str,
    stored: dict[str, Any] | None,
    key: str,
    missing: list[str],
    intro: str,
) -> list[Planned]:
    """One work note saying why the case is not raised (not repeated while the reason stays the same)."""
    if stored is not None and stored.get("missing") == missing and stored.get("partner") == key:
        return []  # already said so once
    history = (stored or {}).get("history", [])
    ctx.set_state(f"case:{sys_id}", {"status": "held", "partner": key, "missing": missing, "history": history})
    lines = "\n".join(f"- {m}" for m in missing)
    note = f"{intro}:\n{lines}\n{contents.HELD_OUTRO}"
    return [po.on_case(setup.opts, setup.central, sys_id, "work_note", {"text": note})]


def _missing(setup: Setup, partner: Partner, record: dict[str, Any]) -> list[str]:
    """What stops the raise: no agreed channel (CPSD 7.1.1 "the agreed communication method"), or what CPSD
    7.1.2 asks of the case."""
    if not partner.e_bonded:
        return [f"an agreed channel (contact as listed: {partner.contact or 'none'})"]
    opts = setup.opts.contents
    return contents.missing_contents(record, min_description=opts.min_description, extra_fields=opts.extra_fields)


def _no_channel_intro(partner: Partner) -> str:
    return f"Not raised to {partner.name}: the partner directory lists no agreed channel for it"


def _raising_state(setup: Setup, record: dict[str, Any], partner_key: str, **extra: Any) -> dict[str, Any]:
    st = {**sync.new_pair_state(), "status": "raising", "partner": partner_key, "number": plain(record.get("number"))}
    st["our_id"] = plain(record.get("sys_id"))
    st["priority"] = plain(record.get("priority"))
    st["summary"] = plain(record.get("short_description"))[:160]
    st["assigned"] = _assigned(setup, record)
    sync.start_journal(st, "central", plain(record.get("sys_updated_on")))
    st["seen"]["central"] = {"state": plain(record.get("state")), "priority": st["priority"]}
    return {**st, **extra}


def _assigned(setup: Setup, record: dict[str, Any]) -> str:
    """The case's assignment value (a re-route or a new raise is a change of it)."""
    assert setup.opts.assignment is not None
    return plain(record.get(setup.opts.assignment.field))


def _create(pair: Pair, record: dict[str, Any]) -> Planned:
    """The create on the partner's desk, with the priority their value map gives (its echo expected back)."""
    partner, setup = pair.partner, pair.setup
    priority = pair.st["priority"]
    theirs = partner.priority.outbound.get(priority, priority)
    create = pm.raise_op(setup.raise_maps, partner, setup.opts, central=setup.central, record=record, priority=theirs)
    if partner.channel != "email":
        sync.expect(pair.st, "partner", "priority", theirs)
    return create


def _again(pair: Pair) -> list[Planned]:
    """The case comes back to a party that had it (re-routed away, or answered "not ours", then routed back):
    its earlier ticket is reopened with a note rather than a second one created (the link keeps their record)."""
    partner, st = pair.partner, pair.st
    reopen = partner.state.outbound.get("reopen", "2")
    note = sync.with_marker(f"Elexon has routed case {st['number']} to your desk again: please see the case.", "again")
    sync.expect(st, "partner", "state", reopen)
    if partner.channel == "jira":
        return [pair.on_partner("transition", {"to": reopen}), pair.on_partner("comment", {"text": note})]
    return pair.partner_update({"state": reopen}, note)


# -- the raise's outcome -----------------------------------------------------------------------------------------


def confirmed(pair: Pair, result_id: str) -> list[Planned]:
    """The party's ticket exists: our case waits, the response clock starts, our attachments follow."""
    partner, states, st = pair.partner, pair.setup.states, pair.st
    st["status"], st["raised_at"] = "raised", pair.ctx.now.isoformat()
    st.pop("raise_error", None)
    number = result_id if partner.channel == "jira" else st.get("their_number")  # a Jira key is its number
    sync.expect(st, "central", "state", states.hold)
    note = f"{raised_words(partner, number)}. This case waits (Awaiting Vendor) until {partner.name} resolves it."
    fields = {"state": states.hold, "hold_reason": states.hold_reason}
    return [*pair.case_update(fields, note), *attachments.copy(pair, "central", pair.our_id)]


def raised_words(partner: Partner, number: str | None) -> str:
    """`Raised to DCC Service Centre: an incident on its ServiceNow desk` (and its number when known)."""
    if partner.channel == "email":
        return f"Raised to {partner.name}: emailed to {partner.email}"
    return f"Raised to {partner.name}: {DESK[partner.kind]}" + (f", {number}" if number else "")


def failed(pair: Pair, error: str) -> list[Planned]:
    """The create was dead-lettered: our case does not wait; one work note says so and why."""
    partner, st = pair.partner, pair.st
    st["status"], st["raise_error"] = "not_raised", error[:500]
    where = "email" if partner.channel == "email" else DESK[partner.kind].removeprefix("an ").removeprefix("a ")
    note = (
        f"Not raised to {partner.name}: the {where} could not be created ({error[:300]}). This case is not "
        f"waiting on {partner.name}. Fix the cause, then retry the dead letter (admin page, Dead letters) to "
        "raise it, or route the case elsewhere."
    )
    return [pair.on_case("work_note", {"text": note})]
