"""The processor: pending inbox events -> their route's flow -> operations in the outbox, in arrival order.

It is a singleton (one per cluster, through the store's advisory lock) so events of one record are planned in
the order they arrived. Planning is quick and pure, so one planner keeps up with many delivery workers. Each
batch is one transaction: the operations, the flow state and the event's `done` mark commit together. An event
that cannot be planned is dead-lettered with its reason; the others in the batch go on.

An event whose flow reads systems (``flow.reads_systems``) is first handed to the fetch step
(:mod:`bridge.engine.fetch`), outside the transaction; its route waits meanwhile and every other route goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import sqlalchemy as sa

from bridge import metrics
from bridge.config import RouteSettings
from bridge.engine.fetch import Fetcher
from bridge.engine.flows import Flow, PlanContext, Planned, event_time, state_namespace
from bridge.engine.ingest import IngestPressure
from bridge.engine.reads import NO_READS, NotFetched, Reads, Replay
from bridge.store import Store, records
from bridge.store import inbox as ib
from bridge.store import outbox as ob

log = logging.getLogger("bridge.processor")


class Processor:
    def __init__(
        self,
        store: Store,
        routes: Mapping[str, RouteSettings],
        flows: Mapping[str, Flow],
        *,
        on_enqueued: Callable[[], None] = lambda: None,
        batch_size: int = 200,
        idle_poll_seconds: float = 0.5,
        pressure: IngestPressure | None = None,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.pressure = pressure or IngestPressure()
        self.fetcher = fetcher
        self.store = store
        self.routes = routes
        self.flows = flows
        self.on_enqueued = on_enqueued
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: how many events the last batch could take (fewer while webhooks are busy)
        self._limit = batch_size

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="processor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.fetcher is not None:
            self.fetcher.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self.store.singleton("bridge-processor") as leader:
                if not leader:
                    self._stopping.wait(2.0)
                    continue
                self._lead()

    def _lead(self) -> None:
        while not self._stopping.is_set():
            self.pressure.yield_if_busy()
            try:
                done = self.process_batch()
            except Exception:
                log.exception("processor error; retrying shortly")
                done = 0
                self._stopping.wait(1.0)
            # a batch full for its limit (the batch size, or the few a webhook burst allows) goes on at once:
            # more may wait, and yield_if_busy paces it during a burst and lets it go as soon as the burst ends
            if done < self._limit:
                self._wake.wait(self.idle_poll_seconds)
                self._wake.clear()

    def drain(self, *, timeout: float = 60.0) -> int:
        """Process until no pending event is left (for commands and tests); returns events processed."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.process_batch()
            total += n
            if n == 0 and not (self.fetcher and self.fetcher.busy()):
                # a fetch that finished after this batch skipped its route leaves that route's events pending
                n = self.process_batch()
                total += n
                if n == 0:
                    break
            if n == 0:
                self._wake.wait(0.05)
                self._wake.clear()
        return total

    def process_batch(self) -> int:
        """Plan one batch of pending events in one transaction; returns how many were taken up."""
        planned_ops = 0
        to_fetch: list[ib.InboxEvent] = []
        done: list[int] = []  # marked together at the end, in the same transaction
        with self.store.begin() as conn:
            skip = set(records.paused_routes(conn)) | {r.name for r in self.routes.values() if not r.enabled}
            if self.fetcher is not None:
                skip |= self.fetcher.waiting_routes()
            limit = self._limit = 5 if self.pressure.busy() else self.batch_size
            events = ib.pending(conn, limit=limit, skip_routes=skip)
            for event in events:
                if event.route in skip:
                    continue  # an earlier event of its route waits for its reads: keep the route's order
                ops = self._process_one(conn, event, done)
                if ops is None:
                    to_fetch.append(event)
                    skip.add(event.route)
                else:
                    planned_ops += ops
            ib.mark_done(conn, done)
        for event in to_fetch:  # after the commit, so the fetch sees what this batch planned
            self._fetch(event)
        if planned_ops:
            self.on_enqueued()
        return len(events)

    def _process_one(self, conn: sa.Connection, event: ib.InboxEvent, done: list[int]) -> int | None:
        """Plan one event: the number of operations, or None when its reads must be fetched first. A planned
        event's id goes on ``done``; a dead-lettered one is marked at once."""
        route = self.routes.get(event.route)
        flow = self.flows.get(event.route)
        if route is None or flow is None:
            self._dead(conn, event, f"no route named {event.route!r} is configured")
            return 0
        reads = self._reads_for(event, flow)
        if reads is None:
            return None
        ctx = PlanContext(
            conn=conn,
            store=self.store,
            route=route,
            flow_name=state_namespace(flow, route),
            reads=reads,
            now=event_time(event),
        )
        try:
            planned = flow.plan(event, ctx)
        except NotFetched:
            return None  # the store moved on since the fetch: fetch again
        except Exception as exc:  # a mapping failure dead-letters this event only
            self._dead(conn, event, f"{type(exc).__name__}: {exc}")
            return 0
        ctx.commit_state()
        ops = [_to_operation(event, route, flow, p, i) for i, p in enumerate(planned)]
        ob.enqueue(conn, self.store, ops)
        done.append(event.id)
        if not ops:  # said at INFO when the flow said why; a clock tick that finds nothing due stays at DEBUG
            why = ctx.ignored or "the flow planned nothing for it"
            fields = {"route": event.route, "event_id": event.id, **_record(event), "reason": why}
            log.log(logging.INFO if ctx.ignored else logging.DEBUG, "ignored", extra=fields)
        metrics.EVENTS_PROCESSED.labels(event.route, "planned").inc()
        metrics.OPERATIONS_PLANNED.labels(event.route).inc(len(ops))
        return len(ops)

    def _reads_for(self, event: ib.InboxEvent, flow: Flow) -> Reads | None:
        """What the event's planning may read: nothing, or the fetch's answers (None: not fetched yet)."""
        if not flow.reads_systems:
            return NO_READS
        if self.fetcher is None:
            raise RuntimeError("a flow that reads systems needs the processor's fetcher")
        recording = self.fetcher.take(event.id)
        return Replay(recording) if recording is not None else None

    def _fetch(self, event: ib.InboxEvent) -> None:
        assert self.fetcher is not None
        self.fetcher.submit(event, self.routes[event.route], self.flows[event.route])

    def _dead(self, conn: sa.Connection, event: ib.InboxEvent, reason: str) -> None:
        log.error("event dead-lettered", extra={"route": event.route, "event_id": event.id, "error": reason})
        ib.mark(conn, event.id, "dead", reason)
        records.add_dead_letter(conn, kind="event", ref_id=event.id, route=event.route, reason=reason)
        metrics.EVENTS_PROCESSED.labels(event.route, "dead").inc()
        metrics.DEAD_LETTERS.labels(event.route, "event").inc()


def _record(event: ib.InboxEvent) -> dict[str, str]:
    return {"record": event.record_key} if event.record_key else {}


def _to_operation(
    event: ib.InboxEvent, route: RouteSettings, flow: Flow, planned: Planned, index: int, suffix: str = ""
) -> ob.NewOperation:
    return ob.NewOperation(
        route=route.name,
        target_system=planned.target or route.target,
        target_key=planned.target_key,
        action=planned.action,
        payload=planned.payload,
        idempotency_key=f"{route.name}:{event.id}:{index}{suffix}",
        event_id=event.id,
        correlation=planned.correlation,
        link_system=planned.link[0] if planned.link else None,
        link_id=planned.link[1] if planned.link else None,
        mapping_version=planned.version or flow.version,
        delay=planned.delay,
        report=planned.report,
        after_key=planned.after,
    )
