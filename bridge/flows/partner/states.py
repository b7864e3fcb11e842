"""States across the pair (CPSD 2(c); Ops Manual 5.12): our reopen reopens theirs; their resolve resolves ours,
their reopen reopens ours; their first sight gives our case their reference.

Each side's state is observed against what the bridge wrote there (:func:`sync.observe`), so the bridge's own
writes coming back never travel again.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import jira, sync
from bridge.flows.partner import operations as po
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import plain


def our_state(pair: Pair, record: dict[str, Any], args: dict[str, Any]) -> list[Planned]:
    """Our desk changed the case's state: a reopen goes to the partner; a close ends the pair."""
    done, closed = pair.setup.done_states, pair.setup.states.closed
    before = pair.st["seen"]["central"].get("state")
    state = plain(record.get("state"))
    stamp = plain(record.get("sys_updated_on"))
    if sync.observe(pair.st, "central", "state", state, updated_on=stamp, **args) != "change":
        return []
    ops = _reopen_theirs(pair, record) if before in done and state not in done else []
    if state in closed:
        pair.st["status"] = "closed"
    return ops


def _reopen_theirs(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    states, partner, st = pair.setup.states, pair.partner, pair.st
    hold = {"state": states.hold, "hold_reason": states.hold_reason, "work_notes": "Reopened."}
    sync.expect(st, "central", "state", states.hold)
    ops = [pair.on_case("update", {"fields": hold})]
    st["ack_at"], st["breached"], st["raised_at"] = None, None, pair.ctx.now.isoformat()
    if partner.channel == "email":
        context = {"update": "Elexon has reopened this case: the issue is not resolved.", "state": "Reopened"}
        return [*ops, po.email(partner, pair.setup.opts, record, "case_update", context)]
    reopen = partner.state.outbound.get("reopen", "2")
    sync.remember_before(st, "partner", "state")
    sync.expect(st, "partner", "state", reopen)
    note = sync.with_marker("Reopened by Elexon: not resolved.", f"reopen:{pair.our_id}")
    if partner.channel == "jira":
        comment = pair.on_partner("comment", {"text": note})
        return [*ops, *jira.update(partner, pair.setup.central, pair.our_id, {"state": reopen}), comment]
    return [*ops, pair.on_partner("update", {"fields": {"state": reopen, "comments": note}})]


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
    return _ours_follow(pair, record)


def _ours_follow(pair: Pair, record: dict[str, Any]) -> list[Planned]:
    partner, states, st = pair.partner, pair.setup.states, pair.st
    wanted = partner.state.inbound.get(plain(record.get("state")))
    ours = st["seen"]["central"].get("state")
    done = pair.setup.done_states
    if wanted == "resolved" and ours not in done:
        notes = plain(record.get(partner.resolution_notes_field)) or f"Resolved by {partner.name}."
        fields = {
            "state": states.resolved,
            "close_notes": f"{partner.name} ({plain(record.get('number'))}): {notes}",
            states.code_field: states.code_value,
        }
        sync.remember_before(st, "central", "state")
        sync.expect(st, "central", "state", states.resolved)
        return [pair.on_case("update", {"fields": fields})]
    if wanted in ("hold", "open") and ours in done:
        fields = {"state": states.hold, "hold_reason": states.hold_reason}
        fields["work_notes"] = f"Reopened by {partner.name} ({plain(record.get('number'))})."
        sync.expect(st, "central", "state", states.hold)
        return [pair.on_case("update", {"fields": fields})]
    return []
