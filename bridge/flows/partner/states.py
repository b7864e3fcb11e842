"""States across the pair (CPSD 2(c), 6 and 8; Ops Manual 5.12, 10.3): what our desk's state change means for the
partner's ticket, and what the partner's means for our case; the partner's reference on first sight.

Ours: a resolve, close or cancel reaches their ticket (:mod:`.closure`); a reopen reopens theirs and our case waits
again. Theirs, through its ``state.inbound`` map: resolved puts ours into review (or resolves it, by route option);
a cancel or a "not ours" code sends ours back to triage; a reopen while ours is in review or resolved puts ours
back to waiting. Each side's state is observed against what the bridge wrote there (:func:`sync.observe`), so
the bridge's own writes coming back never travel again.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import closure, jira, sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import plain


def our_state(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    """Our desk changed the case's state: the partner's ticket follows; a close or cancel ends the pair."""
    states, done = pair.setup.states, pair.setup.done_states
    before = pair.st["seen"]["central"].get("state")
    state = plain(record.get("state"))
    stamp = plain(record.get("sys_updated_on"))
    if sync.observe(pair.st, "central", "state", state, updated_on=stamp, **args) != "change":
        return []
    tidy = _clear_hold_reason(pair, record) if state in done else []
    if state in states.cancelled:
        ops = closure.set_theirs(pair, record, "cancel")
        closure.end(pair, "withdrawn")
        return [*ops, *tidy]
    if state in states.closed:
        ops = closure.set_theirs(pair, record, "close")
        closure.end(pair, "closed")
        return [*ops, *tidy]
    if state == states.resolved:
        what = "confirm" if pair.st.pop("review", None) else "resolve"
        return [*closure.set_theirs(pair, record, what, notes=plain(record.get("close_notes"))), *tidy]
    if before in done:
        return _reopen_theirs(pair, record)
    return []


def _clear_hold_reason(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    """A resolved or closed case no longer waits on anyone: its hold reason goes (the desk may leave it set)."""
    if not plain(record.get("hold_reason")):
        return []
    return [pair.on_case("update", {"fields": {"hold_reason": ""}})]


def _reopen_theirs(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    states, partner, st = pair.setup.states, pair.partner, pair.st
    hold = {"state": states.hold, "hold_reason": states.hold_reason}
    sync.expect(st, "central", "state", states.hold)
    ops = pair.case_update(hold, f"Reopened: {partner.name}'s ticket is reopened and this case waits again.")
    st["ack_at"], st["breached"], st["raised_at"] = None, None, pair.ctx.now.isoformat()
    st.pop("review", None)
    if partner.channel == "email":
        context = {"update": "Elexon has reopened this case: the issue is not resolved.", "state": "Reopened"}
        return [*ops, pair.email(record, "case_update", context)]
    reopen = partner.state.outbound.get("reopen", "2")
    sync.remember_before(st, "partner", "state")
    sync.expect(st, "partner", "state", reopen)
    note = sync.with_marker("Reopened by Elexon: not resolved.", f"reopen:{pair.our_id}")
    if partner.channel == "jira":
        comment = pair.on_partner("comment", {"text": note})
        return [*ops, *jira.update(partner, pair.setup.central, pair.our_id, {"state": reopen}), comment]
    return [*ops, *pair.partner_update({"state": reopen}, note)]


def their_reference(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    """The partner's ticket seen for the first time: our case records its number (Ops Manual 18.5)."""
    st = pair.st
    if st.get("their_number"):
        return []
    st["their_id"], st["their_number"] = plain(record.get("sys_id")), plain(record.get("number"))
    sync.start_journal(st, "partner", plain(record.get("sys_created_on")) or pair.ctx.now.strftime(sync.SN_TIME))
    return [pair.on_case("update", {"fields": {pair.setup.opts.reference_field: st["their_number"]}})]


def their_state(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    """The partner changed its ticket's state (its value map says what it means for our case)."""
    st = pair.st
    before = st["seen"]["partner"].get("state")
    stamp = plain(record.get("sys_updated_on"))
    if sync.observe(st, "partner", "state", plain(record.get("state")), updated_on=stamp, **args) != "change":
        return []
    if before is not None:
        st["ack_at"] = st.get("ack_at") or pair.ctx.now.isoformat()
    why = closure.not_ours(pair, record)
    if why is not None:
        return closure.back_to_triage(pair, record, why)
    return _ours_follow(pair, record)


def _ours_follow(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    partner, states, st = pair.partner, pair.setup.states, pair.st
    wanted = partner.state.inbound.get(plain(record.get("state")))
    ours = st["seen"]["central"].get("state")
    finished = ours in pair.setup.done_states or bool(st.get("review"))
    if wanted == "resolved" and not finished:
        return closure.their_resolution(pair, record)
    if wanted in ("hold", "open") and finished:
        fields = {"state": states.hold, "hold_reason": states.hold_reason}
        sync.expect(st, "central", "state", states.hold)
        st.pop("review", None)
        return pair.case_update(fields, f"Reopened by {partner.name} ({plain(record.get('number'))}).")
    return []
