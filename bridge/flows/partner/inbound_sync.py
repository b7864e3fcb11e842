"""A case a party raised to Elexon, after it exists on our side (CPSD 2(c)(b) and 7.2.2; Ops Manual 18.5.6).

"7.2.2 Elexon Actions: Accept and process the issue internally, or Advise the raising party if the issue falls
outside Elexon's scope, providing direction where possible." And when Elexon owns it, "The service will own this
case through to resolution and inform the raiser once resolved" (2(c)(b)).

Our public comments and files reach the party's ticket (or its mailbox); its comments and files reach our case
(customer-visible: the party is the raiser). When our desk marks the case outside Elexon's scope (a state, or a
value of a field: ``options.outside_scope``), the party's ticket gets that answer with the direction our desk
wrote, and the link ends. Our resolve and close are told to the party (its ticket is its own: its state is not
changed); its own resolve or cancel is noted on our case.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import attachments, closure, comments, sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import plain


def ours_changed(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    """Our desk's changes reach the party that raised the case."""
    if _outside_scope(pair, record):
        return _answer(pair, record)
    ops = _our_state(pair, record, args)
    if pair.st["status"] == "raised":
        ops += comments.copy(pair, record, "central")
        ops += attachments.copy(pair, "central", pair.our_id)
    return ops


def _outside_scope(pair: Pair, record: dict[str, Any]) -> bool:
    rule = pair.setup.opts.outside_scope
    if plain(record.get("state")) in rule.states:
        return True
    return bool(rule.field) and plain(record.get(str(rule.field))) in rule.values


def _answer(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    """CPSD 7.2.2: the party is told the case is outside Elexon's scope, with our direction; the link ends."""
    direction = plain(record.get(pair.setup.opts.outside_scope.direction_field)) or "none given"
    text = (
        f"Elexon has triaged case {pair.st['number']}: it falls outside Elexon's scope (CPSD 7.2.2).\n\n"
        f"Direction: {direction}"
    )
    closure.end(pair, "answered")
    return [*_tell(pair, record, text, "Outside Elexon's scope"), *_note(pair, f"Answered {pair.partner.name}: {text}")]


def _our_state(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    states, st = pair.setup.states, pair.st
    state = plain(record.get("state"))
    stamp = plain(record.get("sys_updated_on"))
    if sync.observe(st, "central", "state", state, updated_on=stamp, **args) != "change":
        return []
    number = st["number"]
    if state == states.resolved:
        notes = plain(record.get("close_notes")) or "see the case for the resolution."
        return _tell(pair, record, f"Elexon has resolved case {number}: {notes}", "Resolved", resolution=notes)
    if state in states.closed or state in states.cancelled:
        closure.end(pair, "closed")
        return _tell(pair, record, f"Elexon has closed case {number}.", "Closed")
    return []


def _tell(pair: Pair, record: dict[str, Any], text: str, label: str, *, resolution: str = "") -> list[Planned]:
    """A public note on the party's ticket, or an email to the address it raised the case from."""
    if pair.partner.channel == "email":
        if resolution:
            return [pair.email(record, "case_resolved", {"resolution": resolution, "resolved_by": "Elexon"})]
        return [pair.email(record, "case_update", {"update": text, "state": label})]
    return [pair.on_partner("comment", {"text": sync.with_marker(text, f"{label.lower()}:{pair.our_id}")})]


def _note(pair: Pair, text: str) -> list[Planned]:
    return [pair.on_case("work_note", {"text": text})]


def theirs_changed(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    """The party's ticket changed: its comments and files reach our case; its own resolve or cancel is noted."""
    ops = _their_state(pair, record, args)
    ops += comments.copy(pair, record, "partner")
    ops += attachments.copy(pair, "partner", pair.st["their_id"])
    return ops


def _their_state(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    partner, st = pair.partner, pair.st
    before = st["seen"]["partner"].get("state")
    stamp = plain(record.get("sys_updated_on"))
    state = plain(record.get("state"))
    if sync.observe(st, "partner", "state", state, updated_on=stamp, **args) != "change" or before is None:
        return []
    if state in partner.not_ours.states:
        return _note(pair, f"{partner.name} cancelled its ticket {st['their_number']}: the raiser withdrew the case.")
    if partner.state.inbound.get(state) == "resolved":
        return _note(pair, f"{partner.name} marked its ticket {st['their_number']} resolved.")
    return []
