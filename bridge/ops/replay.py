"""Replay stored events through today's mappings (re-reading a route's source is :mod:`bridge.ops.resync`).

Replay reads a route's handled events (status `done` or `dead`) in id order, a keyset page at a time, so a
hundred thousand events replay in the memory of one page. Each page is planned and enqueued in one
transaction. The operations carry idempotency keys suffixed `~replay<run id>` (the processor's own key scheme,
through its `_to_operation`), so one run never enqueues an operation twice and a second run is a new, separate
run. The effect on the target is idempotent anyway: planning runs with ``PlanContext(replay=True)`` and the
dispatcher turns a create whose link already exists into an update.

A replay re-sends; it never rewrites flow state (each event's state writes are dropped), so the lifecycle the
live traffic built stays authoritative. A dry run plans the same way inside a transaction that is rolled back.
A flow that reads systems while planning (e-bonding, account sync) has each event's reads made first, outside
the page's transaction, through ``adapters`` (:mod:`bridge.engine.fetch`).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.config import RouteSettings
from bridge.engine.fetch import FetchFailed, fetch_reads
from bridge.engine.flows import Flow, PlanContext, event_time, state_namespace
from bridge.engine.processor import _to_operation
from bridge.engine.reads import NO_READS, Reads, Replay
from bridge.ops.metrics import ADMIN_ACTIONS, REPLAYED_OPERATIONS
from bridge.store import Connection, Store, records
from bridge.store import inbox as ib
from bridge.store import outbox as ob

REPLAYABLE = ("done", "dead")
MAX_ERRORS_KEPT = 50


@dataclass(frozen=True)
class ReplayWindow:
    route: str
    since: float
    until: float | None = None
    record: str | None = None
    #: only events with an operation planned with this mapping version (after a fix or a rollback of it)
    planned_with: str | None = None


@dataclass
class ReplaySummary:
    run_id: str
    dry_run: bool
    events: int = 0
    operations: int = 0
    enqueued: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    error_count: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "events": self.events,
            "operations": self.operations,
            "enqueued": self.enqueued,
            "by_action": dict(sorted(self.by_action.items())),
            "errors": self.error_count,
        }


#: called with each planned operation (for a dry run's listing)
OnPlanned = Callable[[ib.InboxEvent, ob.NewOperation], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)


def count_events(conn: Connection, window: ReplayWindow) -> int:
    """How many events the window holds (for a progress bar), from the (route, received_at) index."""
    return ib.window_count(conn, _selection(window))


def replay(
    store: Store,
    window: ReplayWindow,
    *,
    route: RouteSettings,
    flow: Flow,
    actor: str,
    dry_run: bool = False,
    batch_size: int = 500,
    run_id: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_planned: OnPlanned | None = None,
    adapters: Mapping[str, Any] | None = None,
) -> ReplaySummary:
    """Plan every event of ``window`` again with ``flow`` and enqueue the operations (unless ``dry_run``)."""
    summary = ReplaySummary(run_id=run_id or new_run_id(), dry_run=dry_run)
    after = 0
    while True:
        with store.begin() as conn:
            events = ib.window_page(conn, _selection(window), after=after, limit=batch_size)
        reads = _fetched(store, events, route=route, flow=flow, adapters=adapters or {})
        with store.dry_run() if dry_run else store.begin() as conn:
            ops = _plan_page(conn, store, events, reads, route=route, flow=flow, summary=summary, on_planned=on_planned)
            if ops and not dry_run:
                summary.enqueued += _enqueue(conn, store, ops)
        if not events:
            break
        after = events[-1].id
        if on_batch is not None:
            on_batch(len(events))
        if len(events) < batch_size:
            break
    if not dry_run:
        _audit(store, window, summary, actor=actor)
    return summary


def _enqueue(conn: Connection, store: Store, ops: list[ob.NewOperation]) -> int:
    inserted = ob.enqueue(conn, store, ops)
    # PostgreSQL through SQLAlchemy 2.1 + psycopg reports -1 for INSERT .. ON CONFLICT; the keys carry this
    # run's own id, so none of them can be in the outbox already: every operation was inserted
    return len(ops) if inserted < 0 else inserted


def _selection(window: ReplayWindow) -> ib.Window:
    """The stored events a replay of ``window`` reads: those handled already (done or dead-lettered)."""
    return ib.Window(
        window.route, window.since, window.until, window.record, statuses=REPLAYABLE, planned_with=window.planned_with
    )


def _fetched(
    store: Store, events: Sequence[ib.InboxEvent], *, route: RouteSettings, flow: Flow, adapters: Mapping[str, Any]
) -> dict[int, Reads | Exception]:
    """Each event's reads, made before the page is planned (none for a flow that reads no system)."""
    if not flow.reads_systems:
        return {}
    found: dict[int, Reads | Exception] = {}
    for event in events:
        try:
            found[event.id] = Replay(fetch_reads(store, adapters, event, route, flow, replay=True))
        except FetchFailed as exc:
            found[event.id] = exc
    return found


def _plan_page(
    conn: Connection,
    store: Store,
    events: Sequence[ib.InboxEvent],
    reads: Mapping[int, Reads | Exception],
    *,
    route: RouteSettings,
    flow: Flow,
    summary: ReplaySummary,
    on_planned: OnPlanned | None,
) -> list[ob.NewOperation]:
    ops: list[ob.NewOperation] = []
    for event in events:
        planned = _plan_one(conn, store, event, route, flow, summary, reads.get(event.id, NO_READS))
        ops.extend(planned)
        if on_planned is not None:
            for op in planned:
                on_planned(event, op)
    return ops


def _plan_one(
    conn: Connection,
    store: Store,
    event: ib.InboxEvent,
    route: RouteSettings,
    flow: Flow,
    summary: ReplaySummary,
    reads: Reads | Exception,
) -> list[ob.NewOperation]:
    summary.events += 1
    name = state_namespace(flow, route)
    ctx = PlanContext(conn=conn, store=store, route=route, flow_name=name, replay=True, now=event_time(event))
    try:
        if isinstance(reads, Exception):
            raise reads
        ctx.reads = reads
        planned = flow.plan(event, ctx)
    except Exception as exc:  # one event's mapping failure must not stop the run: counted and reported
        summary.error_count += 1
        if len(summary.errors) < MAX_ERRORS_KEPT:
            summary.errors.append((event.id, f"{type(exc).__name__}: {exc}"))
        return []
    suffix = f"~replay{summary.run_id}"
    ops = [_to_operation(event, route, flow, p, i, suffix) for i, p in enumerate(planned)]
    summary.operations += len(ops)
    summary.by_action.update(op.action for op in ops)
    return ops


def _audit(store: Store, window: ReplayWindow, summary: ReplaySummary, *, actor: str) -> None:
    with store.begin() as conn:
        records.write_audit(
            conn,
            actor=actor,
            action="replay",
            subject=f"replay:{summary.run_id}",
            route=window.route,
            before={
                "since": window.since,
                "until": window.until,
                "record": window.record,
                "planned_with": window.planned_with,
            },
            after=summary.as_dict(),
        )
    ADMIN_ACTIONS.labels("replay", window.route).inc()
    REPLAYED_OPERATIONS.labels(window.route).inc(summary.enqueued)
