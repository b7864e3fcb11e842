"""Comments across the pair (Ops Manual Appendix G): our public comments go to the partner, work notes never; the
partner's public comments land on our case as work notes, because "Customer Visible Comments are designed to
remove any technical communication between resolver teams" and "Updates are made manually to allow for checking
for suitability" (Appendix G): the desk decides what the customer sees. ``partner_comments: comments`` writes
them customer-visible instead. A party that raised the case to us is its customer: its comments are
customer-visible.

A side's journal is read from its cursor (:mod:`bridge.flows.partner.sync`); each entry is copied once, with the
bridge's marker so its echo is never copied back. An email desk gets our comments as ``case_update`` emails.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import Side, plain


def copy(pair: Pair, record: dict[str, Any], side: Side) -> list[Planned]:
    """The new public comments of ``side``, copied to the other side."""
    partner, st = pair.partner, pair.st
    if side == "partner" and partner.channel == "email":
        return []
    ops: list[Planned] = []
    for entry in sync.new_entries(st, side, _journal(pair, record, side)):
        who, when, text = plain(entry.get("sys_created_by")), plain(entry.get("sys_created_on")), entry["value"]
        ref = plain(entry.get("sys_id"))
        if side == "partner":
            st["ack_at"] = st.get("ack_at") or pair.ctx.now.isoformat()
            body = sync.with_marker(f"{partner.name} ({who}, {when} UTC):\n{text}", ref)
            ops.append(pair.on_case(landing(pair), {"text": body}))
        elif partner.channel == "email":
            ops.append(pair.email(record, "case_update", {"update": text, "author": who}))
        else:
            body = sync.with_marker(f"Elexon MHHS Service Desk, {who} ({when} UTC), case {st['number']}:\n{text}", ref)
            ops.append(pair.on_partner("comment", {"text": body}))
    return ops


def landing(pair: Pair) -> str:
    """How the party's comment lands on our case: a work note (Appendix G), customer-visible by route option, or
    when the party raised the case itself (then it is the customer)."""
    return "comment" if pair.inbound or pair.setup.opts.partner_comments == "comments" else "work_note"


def _journal(pair: Pair, record: dict[str, Any], side: Side) -> list[Any]:
    """Public comments of ``side`` since its cursor (a Jira record brings its own, see jira.load)."""
    since = sync.journal_since(pair.st, side, pair.ctx.now)
    if side == "partner" and pair.partner.channel == "jira":
        stamp = since.strftime(sync.SN_TIME)
        return [e for e in record["_journal"] if e["sys_created_on"] >= stamp]
    setup = pair.setup
    table = setup.opts.table if side == "central" else pair.partner.table
    reader = pair.ctx.reads.of(setup.central if side == "central" else pair.partner.via)
    return list(reader.journal_since(table, plain(record.get("sys_id")), since, ("comments",)))
