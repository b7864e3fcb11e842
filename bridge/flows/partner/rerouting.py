"""Re-routing and withdrawal (CPSD 2(c) and 6: "Escalation and re-routing are governed by predefined thresholds,
ownership rules, and technical boundaries"; Ops Manual 18.5.1; Strategy 4.3/4.4: "re-route those who have already
incorrectly raised a ticket").

When our desk routes a raised case elsewhere (another party, or back to one of Elexon's groups), the first party's
ticket is cancelled on its channel with a note saying the case was re-routed, and nothing of where it went; the
case is then raised to the new party if it is external. Both halves are planned together, in one transaction
with the pair's state: a crash in between leaves both or neither. The cancel is ordered behind the first party's
create (same ordering key), so a raise still in flight is created, then cancelled. A raise that had been
dead-lettered is not cancelled (there is no ticket); if its dead letter is retried later, the created ticket is
cancelled when its outcome arrives (see the flow's ``_raise_outcome``).
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import closure, raising, routing, sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import plain


def moved(pair: Pair, record: dict[str, Any]) -> routing.Routed | None:
    """Where the case now points when that is no longer the pair's party (a re-route), else None."""
    routed = routing.party_for(pair.setup, record)
    if routed.problem is not None or routed.key == pair.st.get("partner"):
        return None
    assignment = pair.setup.opts.assignment
    assert assignment is not None
    if routed.key is None and plain(record.get(assignment.field)) == pair.st.get("assigned"):
        return None
    return routed


def reroute(pair: Pair, record: dict[str, Any], routed: routing.Routed) -> list[Planned]:
    """Cancel the first party's ticket (if it has one), note it on our case, raise to the new party."""
    partner, st, states = pair.partner, pair.st, pair.setup.states
    had_ticket = st.get("status") in ("raising", "raised")
    ops = closure.set_theirs(pair, record, "reroute") if had_ticket else []
    closure.end(pair, "withdrawn")
    st["history"][-1]["cancelled"] = had_ticket
    new = pair.setup.directory.get(routed.key) if routed.key else None
    where = f"re-routed to {new.name}" if new else "back with an Elexon group"
    what = "its ticket is cancelled with a note (nothing of where the case went)" if had_ticket else "it had no ticket"
    fields: dict[str, str] = {}
    if plain(record.get("state")) == states.hold:
        fields.update(state=states.reopen, hold_reason="")  # waiting on no one until a new ticket exists
        sync.expect(st, "central", "state", states.reopen)
    pair.save()
    ops += pair.case_update(fields, f"Withdrawn from {partner.name}: the case is {where}; {what}.")
    if routed.key is None:
        return ops
    return ops + raising.raise_to(pair.setup, routed, record, st, pair.ctx)


def cancel_late_ticket(pair: Pair, stored: dict[str, Any], outcome: dict[str, Any]) -> list[Planned]:
    """A raise that was dead-lettered, re-routed away, then its dead letter retried: the ticket exists now on a
    party the case no longer goes to; it is cancelled with the re-route note (once). ``pair`` is a stand-in for
    that party (never saved); ``stored`` is the case's state, whose history records the cancel."""
    key = pair.partner.key
    entry = next((h for h in reversed(stored.get("history", [])) if h.get("partner") == key), None)
    if outcome.get("status") != "done" or entry is None or entry.get("cancelled"):
        return []
    entry["cancelled"] = True
    pair.ctx.set_state(f"case:{pair.our_id}", stored)
    record = {"sys_id": pair.our_id, "number": stored.get("number", ""), "short_description": stored.get("summary", "")}
    return closure.set_theirs(pair, record, "reroute")
