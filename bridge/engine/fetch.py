"""The fetch step: the reads an event's planning needs, made on a small pool before its planning transaction.

See :mod:`bridge.engine.reads` for the two passes. While one event of a route is being fetched (or waits to be
fetched again after a failure), the processor plans no later event of that route, so each route's events are
still planned in arrival order; other routes go on. A slow partner desk therefore delays only its own route:
webhooks are accepted and other routes planned and delivered meanwhile (nothing holds the store's writer lock).

A failed fetch is retried with the dispatcher's backoff (honouring ``Retry-After``) up to its attempt and age
limits; then the event is dead-lettered with the reason, like an operation that could not be delivered, and an
admin can retry it from the dead letters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bridge import metrics
from bridge.config import DispatcherSettings, RouteSettings
from bridge.engine.flows import Flow, PlanContext, event_time, state_namespace
from bridge.engine.reads import Recording
from bridge.failures import backoff_seconds, decide
from bridge.store import Store, now, records
from bridge.store import inbox as ib

log = logging.getLogger("bridge.fetch")


class FetchFailed(Exception):
    """A read needed for planning failed in a way worth retrying (the event is fetched again later)."""


@dataclass
class _Waiting:
    """A route whose next event waits for a fetch: in flight, or failed and due again at ``due``."""

    event_id: int
    attempts: int = 0
    due: float = 0.0
    running: bool = True


def fetch_reads(
    store: Store,
    adapters: Mapping[str, Any],
    event: ib.InboxEvent,
    route: RouteSettings,
    flow: Flow,
    *,
    replay: bool = False,
) -> Recording:
    """The fetch pass for one event: plan against the store as it is, keeping every read; no write is kept.

    Raises :class:`FetchFailed` when a read failed in a way worth retrying. A plan that fails for another
    reason (a mapping error) ends the pass quietly: the plan pass meets the same error and dead-letters it."""
    with store.engine.connect() as conn:
        recording = Recording(adapters, before_io=conn.rollback)
        ctx = PlanContext(
            conn=conn,
            store=store,
            route=route,
            flow_name=state_namespace(flow, route),
            reads=recording,
            now=event_time(event),
            replay=replay,
        )
        try:
            flow.plan(event, ctx)
        except Exception:
            if recording.failure is None:
                log.debug("fetch pass ended by a planning error", exc_info=True)
        finally:
            conn.rollback()
    if recording.failure is not None:
        failure = recording.failure
        raise FetchFailed(f"{type(failure).__name__}: {failure}") from failure
    return recording


class Fetcher:
    """Runs fetch passes on a pool; the processor asks which routes wait and takes finished recordings."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Any],
        settings: DispatcherSettings,
        *,
        on_done: Callable[[], None] = lambda: None,
        workers: int = 4,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.settings = settings
        self.on_done = on_done
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fetch")
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiting] = {}
        self._ready: dict[int, Recording] = {}

    def waiting_routes(self) -> set[str]:
        """Routes whose next event cannot be planned yet (its fetch runs, or is not due again yet)."""
        t = time.monotonic()
        with self._lock:
            return {r for r, w in self._waiting.items() if w.running or w.due > t}

    def busy(self) -> bool:
        """Whether any fetch is in flight or due again (for :meth:`Processor.drain`)."""
        with self._lock:
            return bool(self._waiting)

    def take(self, event_id: int) -> Recording | None:
        with self._lock:
            return self._ready.pop(event_id, None)

    def submit(self, event: ib.InboxEvent, route: RouteSettings, flow: Flow) -> None:
        with self._lock:
            waiting = self._waiting.get(route.name)
            if waiting is not None and waiting.event_id == event.id:
                waiting.running = True
            else:
                self._waiting[route.name] = _Waiting(event.id)
        self._pool.submit(self._fetch, event, route, flow)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _fetch(self, event: ib.InboxEvent, route: RouteSettings, flow: Flow) -> None:
        try:
            recording = fetch_reads(self.store, self.adapters, event, route, flow)
        except FetchFailed as exc:
            self._failed(event, route, exc)
        except Exception as exc:  # the store itself failed: try again like a failed read
            self._failed(event, route, FetchFailed(f"{type(exc).__name__}: {exc}"))
        else:
            with self._lock:
                self._ready[event.id] = recording
                self._waiting.pop(route.name, None)
        self.on_done()

    def _failed(self, event: ib.InboxEvent, route: RouteSettings, exc: FetchFailed) -> None:
        decision = decide(exc.__cause__ or exc)
        with self._lock:
            waiting = self._waiting.setdefault(route.name, _Waiting(event.id))
            waiting.attempts += 1
            attempts = waiting.attempts
        too_old = now() - event.received_at > self.settings.max_age_seconds
        if attempts >= self.settings.max_attempts or too_old:
            self._dead(event, route, f"could not read what planning needs after {attempts} attempts: {exc}")
            return
        delay = backoff_seconds(
            attempts,
            decision.retry_after,
            initial=self.settings.backoff_initial_seconds,
            maximum=self.settings.backoff_max_seconds,
            jitter=self.settings.backoff_jitter_seconds,
        )
        log.warning(
            "fetch before planning failed; will retry",
            extra={"route": route.name, "event_id": event.id, "error": str(exc)[:300], "retry_in": round(delay, 2)},
        )
        metrics.FETCH_RETRIES.labels(route.name).inc()
        with self._lock:
            waiting.running, waiting.due = False, time.monotonic() + delay

    def _dead(self, event: ib.InboxEvent, route: RouteSettings, reason: str) -> None:
        log.error("event dead-lettered", extra={"route": route.name, "event_id": event.id, "error": reason[:500]})
        with self.store.begin() as conn:
            ib.mark(conn, event.id, "dead", reason)
            records.add_dead_letter(conn, kind="event", ref_id=event.id, route=route.name, reason=reason)
        metrics.EVENTS_PROCESSED.labels(route.name, "dead").inc()
        metrics.DEAD_LETTERS.labels(route.name, "event").inc()
        with self._lock:
            self._waiting.pop(route.name, None)
