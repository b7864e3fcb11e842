"""Mail to the agreed mailbox of a central route (``options.mailbox``; CPSD 7.2 "agreed email contact points").

A reply from the email desk a case is raised to lands on our case like that desk's other updates: as a work note
by default (Appendix G), marked as the bridge's own so it is never sent back to the desk it came from, and it
acknowledges the case for the desk's response clock (the desk has answered). Its files are attached. Mail naming a
case from anyone else (the raiser, another party) is a customer-visible comment, as the `email-replies` flow
writes it. Mail naming no case, from a party's address, is a case that party raises to Elexon (:mod:`.inbound`).
"""

from __future__ import annotations

import copy
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import MappingError, PermanentError
from bridge.flows.partner import comments, inbound, sync
from bridge.flows.partner import operations as po
from bridge.flows.partner.pair import Pair, Setup
from bridge.flows.partner.sync import plain


def planned(setup: Setup, mail: dict[str, Any], ref: str, ctx: PlanContext) -> list[Planned]:
    """What one mail means (``ref`` identifies it in the bridge's marker)."""
    number = str(mail.get("case") or "")
    if not number:
        return inbound.from_mail(setup, mail, ref, ctx)
    sys_id = _case_id(setup, number, ctx)
    po.ensure_self_link(ctx, setup.central, sys_id)
    desk = setup.directory.by_sender(str(mail.get("from") or ""))
    stored = _pair_of(ctx, sys_id, desk.key) if desk is not None else None
    if desk is not None and stored is not None:
        pair = Pair(setup, desk, copy.deepcopy(stored), ctx)
        pair.st["ack_at"] = pair.st.get("ack_at") or ctx.now.isoformat()
        text = sync.with_marker(str(mail["comment"]), f"mail:{ref}")  # never sent back to the desk it came from
        ops = [pair.on_case(comments.landing(pair), {"text": text})]
        pair.save()
    else:
        ops = [po.on_case(setup.opts, setup.central, sys_id, "comment", {"text": str(mail["comment"])})]
    files = [po.on_case(setup.opts, setup.central, sys_id, "attach", dict(a)) for a in mail.get("attachments", [])]
    return ops + files


def _pair_of(ctx: PlanContext, sys_id: str, key: str) -> dict[str, Any] | None:
    """The live pair of our case with the desk: raised to it (``case:``) or raised by it (``in:``)."""
    for prefix in ("case", "in"):
        st = ctx.state(f"{prefix}:{sys_id}")
        if st is not None and st.get("partner") == key and st.get("status") in ("raising", "raised"):
            return st
    return None


def _case_id(setup: Setup, number: str, ctx: PlanContext) -> str:
    try:
        found = ctx.reads.of(setup.central).find_one(setup.opts.table, "number", number)
    except PermanentError as exc:
        raise MappingError(f"mail names case {number}: {exc}") from exc
    if found is None:
        raise MappingError(f"mail names case {number}, which does not exist")
    return plain(found.get("sys_id"))
