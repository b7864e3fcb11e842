"""Two-way fields of a pair (priority today): a person's change on one side is carried to the other through the
partner's value map; when both sides changed the field between syncs, the route's conflict rule decides
(``central``, ``partner`` or ``latest``) and the decision goes to the audit log.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import Planned
from bridge.flows.partner import jira, sync
from bridge.flows.partner.pair import Pair
from bridge.flows.partner.sync import Side, plain


def two_way(pair: Pair, record: dict[str, Any], side: Side, field: str, args: dict[str, Any]) -> list[Planned]:
    st, partner = pair.st, pair.partner
    if partner.channel == "email":
        return []
    value, stamp = plain(record.get(field)), plain(record.get("sys_updated_on"))
    decided = st.setdefault("decided", {}).setdefault(side, {})
    seen = sync.observe(st, side, field, value, updated_on=stamp, **args)
    if seen == "conflict" and decided.get(field) == value:
        return []
    if seen == "conflict":
        decided[field] = value
        winner = _winner(pair, side, field, stamp)
        pair.ctx.audit(
            actor="bridge",
            action="ebond.conflict",
            subject=f"{st.get('number')}:{field}",
            before={"side": side, "value": value, "other": sync.other(side), "pending": st["expect"][side]},
            after={"winner": winner, "rule": pair.setup.opts.conflicts.get(field, "central")},
        )
        if winner != side:
            return []
        st["seen"][side][field] = value
        return [*_write(pair, side, field, value), *_push(pair, side, field, value)]
    if seen == "change":
        return _push(pair, side, field, value)
    return []


def _winner(pair: Pair, side: Side, field: str, stamp: str) -> Side:
    rule = pair.setup.opts.conflicts.get(field, "central")
    if rule == "latest":
        return side if stamp >= pair.st["changed_at"][sync.other(side)].get(field, "") else sync.other(side)
    return side if rule == side else sync.other(side)


def _push(pair: Pair, side: Side, field: str, value: str) -> list[Planned]:
    """A person changed ``field`` on ``side``: carry it to the other side through the value map."""
    vmap = pair.partner.priority.outbound if side == "central" else pair.partner.priority.inbound
    mapped = vmap.get(value, value)
    target = sync.other(side)
    if pair.st["seen"][target].get(field) == mapped and not pair.st["expect"][target].get(field):
        return []
    return _write(pair, target, field, mapped)


def _write(pair: Pair, side: Side, field: str, value: str) -> list[Planned]:
    sync.remember_before(pair.st, side, field)
    sync.expect(pair.st, side, field, value)
    if side == "central":
        return [pair.on_case("update", {"fields": {field: value}})]
    if pair.partner.channel == "jira":
        return jira.update(pair.partner, pair.setup.central, pair.our_id, {field: value})
    return [pair.on_partner("update", {"fields": {field: value}})]
