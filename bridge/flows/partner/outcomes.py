"""The outcomes the flow asked to hear of (operations planned with ``report``; see ``bridge.store.outbox``).

Three kinds: the create of a raise to a party (ordering key ``ebond:<sys_id>@<partner>``): our case waits once it
is done, or gets a note that it was not raised (:mod:`.raising`), and a raise since re-routed elsewhere is
cancelled (:mod:`.rerouting`); the create of our case for a case a party raised to us (``ebond-in:...``), which
links the pair and acknowledges the party (:mod:`.inbound`).
"""

from __future__ import annotations

import copy
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.flows.partner import inbound, raising, rerouting, sync
from bridge.flows.partner.pair import Pair, Setup


def planned(setup: Setup, outcome: dict[str, Any], ctx: PlanContext) -> list[Planned]:
    key = str(outcome.get("target_key", ""))
    if key.startswith(inbound.KEY):
        return inbound.created(setup, outcome, ctx)
    our_id, _, partner_key = key.removeprefix("ebond:").partition("@")
    stored = ctx.state(f"case:{our_id}")
    partner = setup.directory.get(partner_key)
    if stored is None or partner is None:
        return []
    if stored.get("partner") != partner_key:  # a raise since re-routed elsewhere
        stand_in = Pair(setup, partner, {**sync.new_pair_state(), "our_id": our_id}, ctx)
        return rerouting.cancel_late_ticket(stand_in, copy.deepcopy(stored), outcome)
    if stored.get("status") not in ("raising", "not_raised"):
        return []  # already confirmed (a redelivered outcome)
    pair = Pair(setup, partner, copy.deepcopy(stored), ctx)
    if outcome.get("status") == "done":
        ops = raising.confirmed(pair, str(outcome.get("result_id") or ""))
    else:
        ops = raising.failed(pair, str(outcome.get("error") or "dead-lettered"))
    pair.save()
    return ops
