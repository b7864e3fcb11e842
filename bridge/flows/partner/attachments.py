"""Attachments of an e-bonded pair, copied both ways once each.

Each side's attachments are listed when one of its changes is planned. An attachment not seen before (by its
id on that side) is downloaded and fingerprinted by (sha256 of the content, file name); a fingerprint already
in the pair's state is either a copy the bridge made itself (its echo) or a file already sent, so it is never
copied again. Ids and fingerprints live in the flow state, committed with the planned ``attach`` operations:
a redelivered or replayed event finds them and copies nothing. A file over the size limit is not copied; one
work note on our case says so.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import Side


@dataclass(frozen=True)
class Found:
    """One attachment as either kind of desk lists it."""

    id: str
    name: str
    size: int
    content_type: str


def copy(pair: Pair, side: Side, record_id: str) -> list[Planned]:
    """New attachments of ``side`` copied to the other side, once each (see the module doc)."""
    limits, partner, setup = pair.setup.opts.attachments, pair.partner, pair.setup
    if partner.channel == "email" or not limits.enabled or not record_id:
        return []
    ours = side == "central"
    reader = pair.ctx.reads.of(setup.central if ours else partner.via)
    table = setup.opts.table if ours else partner.table
    found = listed(reader, jira=not ours and partner.channel == "jira", table=table, record_id=record_id)
    direction = f"to {partner.name}" if ours else f"from {partner.name}"

    def attach(payload: dict[str, Any]) -> Planned:
        return pair.on_partner("attach", payload) if ours else pair.on_case("attach", payload)

    def too_big(item: Found) -> Planned:
        note = over_limit_note(item, direction=direction, max_bytes=limits.max_bytes)
        return pair.on_case("work_note", {"text": note})

    return copies(
        pair.st,
        side,
        found,
        download=reader.download_attachment,
        attach=attach,
        too_big=too_big,
        max_bytes=limits.max_bytes,
    )


def listed(reader: Any, *, jira: bool, table: str, record_id: str) -> list[Found]:
    """The record's attachments (ServiceNow sys_attachment rows, or a Jira issue's attachment field)."""
    if jira:
        items = reader.attachments(record_id)
        return [Found(a.id, a.filename, a.size, a.mime_type) for a in items]
    rows = reader.list_attachments(table, record_id)
    return [
        Found(
            sync.plain(r.get("sys_id")),
            sync.plain(r.get("file_name")),
            int(sync.plain(r.get("size_bytes")) or 0),
            sync.plain(r.get("content_type")) or "application/octet-stream",
        )
        for r in rows
    ]


def copies(
    st: dict[str, Any],
    side: Side,
    found: list[Found],
    *,
    download: Callable[[str], bytes],
    attach: Callable[[dict[str, Any]], Planned],
    too_big: Callable[[Found], Planned],
    max_bytes: int,
) -> list[Planned]:
    """The ``attach`` operations (to the other side) for ``side``'s attachments not handled before."""
    state = st.setdefault("attachments", {"ids": {"central": [], "partner": []}, "copied": []})
    seen: list[str] = state["ids"][side]
    ops: list[Planned] = []
    for item in found:
        if not item.id or item.id in seen:
            continue
        seen.append(item.id)
        if item.size > max_bytes:
            ops.append(too_big(item))
            continue
        content = download(item.id)
        if len(content) > max_bytes:
            ops.append(too_big(item))
            continue
        fingerprint = f"{hashlib.sha256(content).hexdigest()}:{item.name}"
        if fingerprint in state["copied"]:
            continue  # the bridge's own copy coming back, or the same file already sent
        state["copied"].append(fingerprint)
        payload = {
            "file_name": item.name,
            "content_type": item.content_type,
            "content_b64": base64.b64encode(content).decode("ascii"),
        }
        ops.append(attach(payload))
    return ops


def over_limit_note(item: Found, *, direction: str, max_bytes: int) -> str:
    return (
        f"Attachment {item.name!r} ({item.size} bytes) was not copied {direction}: it is over the e-bonding "
        f"limit of {max_bytes} bytes. Send it another way if the partner needs it."
    )
