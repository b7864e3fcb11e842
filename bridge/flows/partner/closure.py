"""How a pair ends, both ways (CPSD 2(c), 6 and 8; Ops Manual 10.3, 18.5.1).

Ours to theirs: "Closure & Communication" is every party's step (CPSD 8), so our resolve, close and cancel reach
the partner's ticket (:func:`set_theirs`: the state the partner's ``state.outbound`` gives, the resolution code and
notes its ``closure`` names, and a public note). A withdrawal or re-route cancels their ticket with a note that
says so and nothing of where the case went.

Theirs to ours: a partner's resolution puts our case into review with their resolution as a work note, because
"Resolution - Ownership remains until ticket is resolved and confirmed" (CPSD 6) and "Elexon Service Management
team will review the ticket" before the participant is notified (Ops Manual 10.3); ``on_partner_resolved:
resolve`` keeps the older behaviour of resolving at once. A cancel or a "not ours" (CPSD 2(c)(a): "raised to that
service in error") sends our case back to triage with their reason: it is not resolved.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import plain

#: statuses of a pair that has ended (a later assignment to a party raises the case again)
ENDED = ("closed", "withdrawn", "returned", "answered")
#: what each closing step says on the partner's ticket
WORDS = {
    "resolve": "Elexon has resolved case {number}: {notes}",
    "confirm": "Elexon has confirmed your resolution and resolved case {number}.",
    "close": "Elexon has closed case {number}.",
    "cancel": "Elexon has withdrawn case {number}: it is no longer needed, no further action is required.",
    "reroute": "Elexon has re-routed case {number} to another party: no further action is required on your side.",
}


def end(pair: Pair, status: str) -> None:
    """The pair ends (``status`` one of :data:`ENDED`); the party is kept in the case's history."""
    st = pair.st
    entry = {"partner": st.get("partner"), "their_number": st.get("their_number"), "status": status}
    st["history"] = [*st.get("history", []), {**entry, "at": pair.ctx.now.isoformat()}]
    st["status"] = status


# -- ours to theirs ----------------------------------------------------------------------------------------------


def set_theirs(pair: Pair, record: dict[str, Any], what: str, *, notes: str = "") -> list[Planned]:
    """Their ticket to the state our ``what`` (resolve, confirm, close, cancel, reroute) maps to, with a public
    note (an email desk gets it by email)."""
    partner, st = pair.partner, pair.st
    note = WORDS[what].format(number=st.get("number", ""), notes=notes or "see the case for the resolution.")
    if partner.channel == "email":
        return [_email(pair, record, what, note, notes)]
    value = _state_for(pair, what)
    marked = sync.with_marker(note, f"{what}:{pair.our_id}")
    if partner.channel == "jira":
        return [*_jira_states(pair, what, value), pair.on_partner("comment", {"text": marked})]
    fields: dict[str, str] = {}
    if value is not None:
        fields["state"] = value
        _expect(pair, value)
    closure = partner.closure
    if what in ("resolve", "close") and value is not None:
        fields[closure.code_field] = closure.resolve_code
        fields[closure.notes_field] = note
    if what in ("cancel", "reroute") and closure.cancel_code:
        fields[closure.code_field] = closure.cancel_code
    return pair.partner_update(fields, marked)


def _state_for(pair: Pair, what: str) -> str | None:
    """The partner state to set, or None when their ticket is already there (their resolve we confirm)."""
    outbound, seen = pair.partner.state.outbound, pair.st["seen"]["partner"].get("state")
    key = {"confirm": "resolve", "reroute": "cancel"}.get(what, what)
    value = outbound.get(key)
    already = seen == value or (key == "resolve" and pair.partner.state.inbound.get(seen or "") == "resolved")
    return None if value is None or already else value


def _jira_states(pair: Pair, what: str, value: str | None) -> list[Planned]:
    """Transitions to ``value`` (a close from an open status goes through the resolve status first)."""
    if value is None:
        return []
    partner, ops = pair.partner, []
    code = partner.closure.cancel_code if what in ("cancel", "reroute") else partner.closure.resolve_code
    resolve = partner.state.outbound.get("resolve")
    seen = pair.st["seen"]["partner"].get("state")
    if what == "close" and resolve and partner.state.inbound.get(seen or "") != "resolved":
        ops.append(_transition(pair, resolve, code))
    ops.append(_transition(pair, value, code))
    return ops


def _transition(pair: Pair, to: str, resolution: str | None) -> Planned:
    _expect(pair, to)
    payload = {"to": to, **({"resolution": resolution} if resolution else {})}
    return pair.on_partner("transition", payload)


def _expect(pair: Pair, value: str) -> None:
    sync.remember_before(pair.st, "partner", "state")
    sync.expect(pair.st, "partner", "state", value)


def _email(pair: Pair, record: dict[str, Any], what: str, note: str, notes: str) -> Planned:
    if what in ("resolve", "confirm"):
        context = {"resolution": notes or note, "resolved_by": "Elexon"}
        return pair.email(record, "case_resolved", context)
    label = {"close": "Closed", "cancel": "Withdrawn", "reroute": "Re-routed"}[what]
    return pair.email(record, "case_update", {"update": note, "state": label})


# -- theirs to ours ----------------------------------------------------------------------------------------------


def their_resolution(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    """The partner resolved: our case into review with their resolution as a work note (or resolved at once)."""
    partner, states, st = pair.partner, pair.setup.states, pair.st
    notes = plain(record.get(partner.resolution_notes_field)) or f"Resolved by {partner.name}."
    said = f"{partner.name} ({plain(record.get('number'))}): {notes}"
    sync.remember_before(st, "central", "state")
    if pair.setup.opts.on_partner_resolved == "resolve":
        fields = {
            "state": states.resolved,
            "hold_reason": "",
            "close_notes": said,
            states.code_field: states.code_value,
        }
        sync.expect(st, "central", "state", states.resolved)
        return [pair.on_case("update", {"fields": fields})]
    st["review"] = pair.ctx.now.isoformat()
    sync.expect(st, "central", "state", states.review_state)
    note = (
        f"{partner.name} resolved its ticket {plain(record.get('number'))}:\n{notes}\n\nReview the resolution, "
        "then resolve this case: the raiser is told once Elexon confirms (Ops Manual 10.3)."
    )
    return pair.case_update({"state": states.review_state, "hold_reason": ""}, note)


def not_ours(pair: Pair, record: dict[str, Any]) -> str | None:
    """Why their change sends our case back to triage (a cancel, or a "not ours" code), or None."""
    rule = pair.partner.not_ours
    state, code = plain(record.get("state")), plain(record.get(rule.code_field))
    if state in rule.states:
        return f"cancelled its ticket {plain(record.get('number'))}"
    if code and code in rule.codes:
        return f"answered that the case is not theirs ({code}) on its ticket {plain(record.get('number'))}"
    return None


def back_to_triage(pair: Pair, record: dict[str, Any], why: str) -> list[Planned]:
    """Our case back to triage (a configured state and group) with their reason; the pair ends, unresolved."""
    partner, st, triage = pair.partner, pair.st, pair.setup.opts.triage
    reason = plain(record.get(partner.resolution_notes_field)) or "no reason given on the ticket"
    note = (
        f"{partner.name} {why}: {reason}\nThis case is not resolved: it is back for triage. Route it again (to "
        "another party, or an Elexon group)."
    )
    state = triage.state or pair.setup.states.new
    fields = {"state": state, "hold_reason": ""}
    if triage.assignment_group:
        fields["assignment_group"] = triage.assignment_group
        st["assigned"] = triage.assignment_group
    sync.expect(st, "central", "state", state)
    end(pair, "returned")
    return pair.case_update(fields, note)
