"""Is a running bridge idle? The proof a test needs before asserting that something did *not* happen (no second
incident, no echo, no duplicate): sleeping a while and then looking passes on a slow machine without proving
anything, because the work may simply not have run yet.

The bridge is idle when every event is planned (no inbox row pending), every operation has finished (done or
dead), and its pollers have stored the latest change of every record they watch (the inbox holds each record's
current ``sys_id:sys_mod_count``, the key the poller gives a change). Pass :func:`idle_snapshot` to
:func:`tests.support.waiting.wait_until_stable`: two equal idle looks in a row mean nothing started in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from bridge_emulators.servicenow import ServiceNowEmulator

UNFINISHED = ("pending", "retry", "inflight")
Snapshot = tuple[int, int, frozenset[str]]


def change_keys(emulator: ServiceNowEmulator, table: str) -> frozenset[str]:
    """The inbox keys of the latest change of every record in one emulator table (what a poller stores)."""
    return frozenset(f"{r['sys_id']}:{r['sys_mod_count']}" for r in emulator.state.records(table))


def idle_snapshot(engine: sa.Engine, watched: Mapping[str, Iterable[str]]) -> Snapshot | None:
    """None while the bridge has work; else (newest inbox id, newest outbox id, the change keys it has stored).

    ``watched`` maps an inbox source (``servicenow:<table>``) to the change keys its poller must have stored;
    read them from the emulators *before* calling, so a change made meanwhile shows in the next look."""
    wanted = {source: set(keys) for source, keys in watched.items()}
    with engine.connect() as conn:
        pending = conn.execute(sa.text("SELECT count(*) FROM inbox WHERE status = 'pending'")).scalar_one()
        unfinished = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE status IN :states").bindparams(
                sa.bindparam("states", expanding=True)
            ),
            {"states": list(UNFINISHED)},
        ).scalar_one()
        seen: set[str] = set()
        for source in wanted:
            rows = conn.execute(sa.text("SELECT dedupe_key FROM inbox WHERE source = :s"), {"s": source})
            seen |= {f"{source}/{key}" for (key,) in rows}
        inbox_top = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM inbox")).scalar_one()
        outbox_top = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    needed = {f"{source}/{key}" for source, keys in wanted.items() for key in keys}
    if pending or unfinished or not needed <= seen:
        return None
    return int(inbox_top), int(outbox_top), frozenset(needed)
