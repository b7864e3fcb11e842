"""The dispatcher: claims outbox rows, delivers them through adapters on a thread pool, records outcomes.

One claim loop per process feeds a pool of worker threads. The claim query never hands out two unfinished
operations of one target record, so per-record order holds across threads and processes while different
records overlap their I/O; independent records' writes for a target that batches (ServiceNow's Batch API) go
together, one call per group (:mod:`bridge.engine.batch`). Outcomes are written back in batches, in the same
transaction as the next claim (one commit for many deliveries), which is what keeps the durable bookkeeping
cheap. A transient failure is retried at once in-process (short jittered waits, a target's ``Retry-After``
exactly) while the lease is held, because every later operation of that record waits behind it; only then does
the row go back with a backoff. Delivery is at-least-once; effects are exactly-once through idempotency keys,
the link table, and a lookup by correlation key before re-trying an uncertain create.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from bridge import metrics
from bridge.adapters.base import Adapter, DeliveryResult, Operation
from bridge.config import DispatcherSettings
from bridge.engine.batch import Batcher
from bridge.engine.ingest import IngestPressure
from bridge.errors import PermanentError
from bridge.failures import Decision, backoff_seconds, decide, inline_wait
from bridge.store import Store, links, now, records
from bridge.store import outbox as ob

log = logging.getLogger("bridge.dispatcher")

#: seconds between claims that walk the whole backlog; the ones between look only at its oldest rows
FULL_WALK_EVERY = 0.2
#: PostgreSQL: how often at most a full claim checks the outbox's planner statistics, and how old they may be
STATISTICS_CHECK_EVERY = 60.0
STATISTICS_MAX_AGE = 300.0

CREATE_ACTIONS = ("create", "upsert")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Delivers outbox operations until stopped. `start()` runs it in a thread; `drain()` runs it inline."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        settings: DispatcherSettings,
        *,
        owner: str | None = None,
        pressure: IngestPressure | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.store = store
        self.pressure = pressure or IngestPressure()
        self.adapters = adapters
        self.settings = settings
        self.owner = owner or worker_name()
        self._outcomes: queue.SimpleQueue[ob.Outcome] = queue.SimpleQueue()
        self._inflight: dict[int, Future[None]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="deliver")
        self._thread: threading.Thread | None = None
        self._paused: tuple[float, list[str]] = (0.0, [])
        self._batcher = Batcher(self)
        #: monotonic time the earliest retry this process gave back is due (the loop wakes for it)
        self._next_due = float("inf")
        self._full_walk_due = 0.0
        self._statistics_due = 0.0
        #: waits between in-process retries; stopping cuts one short (tests inject a recorder)
        self._sleep = sleep or self._stopping.wait

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tell the loop new operations may be claimable (the processor calls this after enqueueing)."""
        self._wake.set()

    def stop(self, grace: float = 8.0) -> None:
        """Stop claiming; let in-flight deliveries finish within ``grace``; give back the rest's leases."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(grace)
        futures.wait(list(self._inflight.values()), timeout=grace)
        self._flush()
        unfinished = [op_id for op_id, f in self._inflight.items() if not f.done()] + self._batcher.held_ids()
        released = ob.release(self.store, owner=self.owner, op_ids=unfinished)
        if released:
            log.warning("released unfinished operations at shutdown", extra={"count": released})
        self._pool.shutdown(wait=False, cancel_futures=True)

    def drain(self, *, timeout: float = 60.0) -> bool:
        """Run inline until no operation is left unfinished (waiting out retry delays), for commands and
        tests; True if everything finished within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worked = self._step()
            if not worked and not self._inflight and not self._unfinished():
                return True
            if not worked:
                self._wake.wait(self._wait_time(0.05))
                self._wake.clear()
        return False

    def _unfinished(self) -> int:
        with self.store.begin() as conn:
            return ob.unfinished(conn)

    # --- the loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.pressure.yield_if_busy()
            try:
                worked = self._step()
            except Exception:
                log.exception("dispatcher loop error; retrying shortly")
                worked = False
                time.sleep(1.0)
            if not worked:
                self._wake.wait(self._wait_time(self.settings.idle_poll_seconds))
                self._wake.clear()
                # let a few more deliveries finish so one transaction records them together
                time.sleep(self.settings.coalesce_seconds)

    def _submit(self, claimed: list[ob.Claimed], paused: list[str]) -> bool:
        """Independent records' writes for a batching target go together (:mod:`bridge.engine.batch`), the
        rest one by one. True if anything was claimed or handed to the pool."""
        groups, singles = self._batcher.collect(claimed, paused=paused) if self._batcher.adapters else ([], claimed)
        for group in groups:
            future = self._pool.submit(self._batcher.deliver, group)
            self._batcher.started(group, future)
            for item in [*group.items, *group.after]:
                self._inflight[item.op.id] = future
        leased = time.monotonic()
        for item in singles:
            self._inflight[item.op.id] = self._pool.submit(self._deliver, item, leased)
        return bool(groups or singles or claimed)

    def _wait_time(self, longest: float) -> float:
        """How long the loop may sleep: ``longest``, or less when a retry it gave back falls due sooner."""
        return max(0.0, min(longest, self._next_due - time.monotonic()))

    def _step(self) -> bool:
        """Write finished outcomes and claim as much as the pool has room for, in one transaction. True if
        anything moved.

        Keep up to two batches' worth queued per worker so claims are fewer and larger; while webhooks are busy,
        keep only a few deliveries going so accepting gets the CPU (they catch up right after). Outcomes wait
        for company while every worker is busy (the pool has work); as soon as a worker would idle, they are
        written and the next operations claimed at once (a record's next operation waits for its outcome)."""
        capacity, threshold, free, pending = self._room()
        claiming = free >= threshold and not self._stopping.is_set()
        if not claiming and pending < threshold:
            return False
        batch = self._take_outcomes()
        clock = time.monotonic()
        due = clock >= self._next_due
        # a claim that walks the whole backlog reads every row queued behind a busy record's head (thousands for
        # one case's partner updates); most claims look at the oldest rows only, and every FULL_WALK_EVERY
        # seconds one looks at everything, so no row waits longer than that for being far down the backlog
        full = claiming and clock >= self._full_walk_due
        if full:
            self._full_walk_due = clock + FULL_WALK_EVERY
        paused = self._paused_routes() if claiming else []
        try:
            claimed = ob.finish_and_claim(
                self.store,
                batch,
                owner=self.owner,
                limit=min(free, self.settings.batch_size) if claiming else 0,
                lease_seconds=self.settings.lease_seconds,
                paused=paused,
                window=None if full else 2 * capacity + self.settings.batch_size,
            )
        except Exception:
            # the store out of reach: keep the outcomes for the next step (the transaction rolled back; and if a
            # lost commit answer means it did not, each row's write is guarded by owner and attempt, so only its
            # history line could repeat). Dropped, their operations would stay counted in flight until a restart
            for outcome in batch:
                self._outcomes.put(outcome)
            raise
        self._settled(batch)
        if claiming and due:
            self._next_due = float("inf")
        moved = self._submit(claimed, paused) or bool(batch)
        if claiming and len(claimed) >= min(free, self.settings.batch_size):
            self._check_statistics(clock)
        return moved

    def _check_statistics(self, clock: float) -> None:
        """A full claim means a backlog: on PostgreSQL, make sure the next claims are planned from statistics
        that know it (:func:`bridge.store.outbox.refresh_statistics`), at most once a minute, after the claimed
        work is on its way. A failure here costs only the refresh."""
        if not self.store.is_postgres or clock < self._statistics_due:
            return
        self._statistics_due = clock + STATISTICS_CHECK_EVERY
        try:
            refreshed = ob.refresh_statistics(self.store, max_age_seconds=STATISTICS_MAX_AGE)
        except Exception as exc:  # a dropped connection, a lock or statement timeout: try again next minute
            log.warning("could not refresh the outbox's planner statistics", extra={"error": str(exc)[:300]})
            return
        if refreshed:
            log.info("outbox planner statistics refreshed (a backlog, and none recent)", extra={"worker": self.owner})

    def _room(self) -> tuple[int, int, int, int]:
        """(capacity, threshold, free, pending): how many deliveries may be in flight, how many free places
        make a claim worth it, how many there are once the outcomes waiting to be written are written, and how
        many outcomes wait."""
        capacity = 1 if self.pressure.busy() else 2 * self.settings.workers
        threshold = max(1, min(self.settings.batch_size, capacity) // 2)
        pending = self._outcomes.qsize()
        # operations sent in a batch call do not count here (the batcher keeps its calls to its own slots,
        # :mod:`bridge.engine.batch`); those whose outcomes wait in the queue are already among ``ops``
        busy = len(self._inflight) - len(self._batcher.ops) - (pending - len(self._batcher.reported))
        return capacity, threshold, capacity - busy, pending

    def _worth_a_step(self) -> bool:
        """Whether the loop has work now (the same test as :meth:`_step`'s): waking it for every outcome
        while it would only go back to sleep costs a thread switch per delivery."""
        _, threshold, free, pending = self._room()
        return free >= threshold or pending >= threshold

    def _take_outcomes(self) -> list[ob.Outcome]:
        batch: list[ob.Outcome] = []
        while True:
            try:
                batch.append(self._outcomes.get_nowait())
            except queue.Empty:
                return batch

    def _settled(self, batch: list[ob.Outcome]) -> None:
        """Forget written outcomes; remember when the earliest retry among them falls due."""
        wall, clock = now(), time.monotonic()
        if self._batcher.ops or self._batcher.reported:
            self._batcher.forget([outcome.op_id for outcome in batch])
        for outcome in batch:
            self._inflight.pop(outcome.op_id, None)
            if outcome.status == "retry" and outcome.next_attempt_at is not None:
                self._next_due = min(self._next_due, clock + max(0.0, outcome.next_attempt_at - wall))

    def _flush(self) -> int:
        batch = self._take_outcomes()
        if batch:
            ob.finish(self.store, batch, owner=self.owner)
            self._settled(batch)
        return len(batch)

    def _paused_routes(self) -> list[str]:
        checked, names = self._paused
        if time.monotonic() - checked > 1.0:
            with self.store.begin() as conn:
                names = records.paused_routes(conn)
            self._paused = (time.monotonic(), names)
        return names

    # --- one delivery (runs on a pool thread) --------------------------------------------------------

    def _deliver(self, item: ob.Claimed, leased: float) -> None:
        op = item.op
        started = time.perf_counter()
        earlier: list[tuple[float, int | None, str]] = []
        uncertain = op.attempts > 1  # an earlier claim's try may have taken effect
        while True:
            try:
                outcome = self._attempt(item, op)
                break
            except BaseException as exc:  # classified below; nothing escapes the worker thread
                decision = decide(exc)
                wait = self._inline_wait(decision, item.op.attempts + len(earlier), len(earlier) + 1, leased)
                if wait is None:
                    outcome = self._failed(item, decision, tries=len(earlier) + 1)
                    break
                log.warning(
                    "retrying in-process",
                    extra={**_ids(op), "error": decision.reason[:300], "retry_in": round(wait, 3)},
                )
                metrics.RETRIES.labels(op.route, op.target_system).inc()
                earlier.append((now(), decision.status, decision.reason))
                self._sleep(wait)
                # adapters read ``attempts > 1`` as "an earlier try may have taken effect" (look before acting:
                # a lookup before a create, a journal read before a comment); a try the target refused had none
                uncertain = uncertain or not decision.refused
                if uncertain:
                    op = replace(item.op, attempts=item.op.attempts + len(earlier))
        metrics.DELIVERY_SECONDS.labels(op.route, op.target_system).observe(time.perf_counter() - started)
        metrics.DELIVERIES.labels(op.route, op.target_system, outcome.status).inc()
        outcome.earlier = earlier
        self._outcomes.put(outcome)
        if self._worth_a_step():
            self._wake.set()

    def _inline_wait(self, decision: Decision, attempt: int, tries: int, leased: float) -> float | None:
        """The wait before retrying in-process, or None to give the row back: dead, out of tries (this claim's
        or ``max_attempts``), stopping, or past the budget (which stays well inside the lease)."""
        s = self.settings
        out_of_tries = tries > s.inline_retries or attempt >= s.max_attempts
        if decision.verdict == "dead" or out_of_tries or self._stopping.is_set():
            return None
        budget = min(s.inline_budget_seconds, s.lease_seconds / 4)
        wait = inline_wait(tries, decision.retry_after, initial=s.inline_backoff_seconds, maximum=budget)
        if time.monotonic() - leased + wait > budget:
            return None
        return wait

    def _attempt(self, item: ob.Claimed, op: Operation) -> ob.Outcome:
        adapter = self.adapters.get(op.target_system)
        if adapter is None:
            raise PermanentError(f"no target named {op.target_system!r} is configured")
        if "resolve" in op.payload:
            op = self._resolve_references(op)
        if op.action == "create" and op.target_id is not None:
            # the link table already knows this record (a replay, or a create planned twice): update it
            op = replace(op, action="update")
        if op.action in CREATE_ACTIONS and op.target_id is None and op.attempts > 1 and op.correlation:
            found = adapter.lookup(op)
            if found is not None:
                log.info("earlier create took effect; not creating again", extra=_ids(op, found))
                if op.action == "create":
                    return self._done(item, DeliveryResult(target_id=found))
                op = replace(op, target_id=found)
        if op.target_id is None and op.action not in CREATE_ACTIONS and op.correlation:
            # addressed by a business key (e.g. a case number from an email subject): strict lookup, one match
            found = adapter.lookup(op)
            if found is None:
                raise PermanentError(f"{op.action}: no record where {op.correlation} on {op.target_system}")
            op = replace(op, target_id=found)
        if op.target_id is None and op.action not in CREATE_ACTIONS and item.link_system:
            raise PermanentError(
                f"{op.action} for {item.link_system}:{item.link_id} but no linked record exists on {op.target_system}"
            )
        result = adapter.deliver(op)
        return self._done(item, result)

    def _resolve_references(self, op: Operation) -> Operation:
        """Fill fields that name another record by its link (a child's parent created earlier in order)."""
        resolved: dict[str, str] = {}
        with self.store.begin() as conn:
            for field, (system, record_id) in op.payload["resolve"].items():
                target_id = links.find_link(conn, system, record_id, op.target_system)
                if target_id is None:
                    raise PermanentError(f"{field}: {system}:{record_id} has no record on {op.target_system} (yet)")
                resolved[field] = target_id
        payload = {k: v for k, v in op.payload.items() if k != "resolve"}
        payload["fields"] = {**payload.get("fields", {}), **resolved}
        return replace(op, payload=payload)

    def _done(self, item: ob.Claimed, result: DeliveryResult) -> ob.Outcome:
        op = item.op
        link = (item.link_system, item.link_id, op.target_system) if item.link_system and item.link_id else None
        number = result.detail.get("number")  # the INC/CS number a person searches for (ServiceNow answers it)
        log.info("delivered", extra={**_ids(op, result.target_id), **({"number": number} if number else {})})
        return ob.Outcome(
            op_id=op.id,
            attempt=op.attempts,
            status="done",
            route=op.route,
            result_id=result.target_id or op.target_id,
            result_version=result.version,
            link=link,
            audit=list(result.detail.get("audit", [])),
            report=item.report,
            about=_about(item),
        )

    def _failed(self, item: ob.Claimed, decision: Decision, *, tries: int = 1) -> ob.Outcome:
        op = item.op
        made = op.attempts + tries - 1  # every try counts, the in-process ones too
        out_of_time = now() - item.created_at > self.settings.max_age_seconds
        give_up = decision.verdict == "dead" or made >= self.settings.max_attempts or out_of_time
        if give_up:
            why = decision.reason if decision.verdict == "dead" else f"gave up after {made} attempts: "
            if decision.verdict != "dead":
                why += decision.reason
            log.error("dead-lettered", extra={**_ids(op), "error": why[:500]})
            metrics.DEAD_LETTERS.labels(op.route, "operation").inc()
            return ob.Outcome(
                op_id=op.id,
                attempt=op.attempts,
                status="dead",
                route=op.route,
                error=why,
                status_code=decision.status,
                target_answer=decision.body,
                audit=list(decision.audit),
                report=item.report,
                about=_about(item),
            )
        # grown by the tries before this claim, not by this claim's in-process ones: five failures in a row in a
        # few seconds are one bad moment (the first time back waits the first step; a record's queue waits on it)
        delay = self._backoff(op.attempts, decision.retry_after)
        log.warning("will retry", extra={**_ids(op), "error": decision.reason[:300], "retry_in": round(delay, 2)})
        metrics.RETRIES.labels(op.route, op.target_system).inc()
        return ob.Outcome(
            op_id=op.id,
            attempt=op.attempts,
            status="retry",
            route=op.route,
            next_attempt_at=now() + delay,
            error=decision.reason,
            status_code=decision.status,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        s = self.settings
        return backoff_seconds(
            attempt,
            retry_after,
            initial=s.backoff_initial_seconds,
            maximum=s.backoff_max_seconds,
            jitter=s.backoff_jitter_seconds,
        )


def _about(item: ob.Claimed) -> dict[str, Any]:
    """For an operation whose outcome goes back to its route: which operation it was."""
    if not item.report:
        return {}
    op = item.op
    link = [item.link_system, item.link_id] if item.link_system else None
    return {"action": op.action, "target_system": op.target_system, "target_key": op.target_key, "link": link}


def _ids(op: Operation, target_id: str | None = None) -> dict[str, object]:
    ids: dict[str, object] = {
        "route": op.route,
        "op_id": op.id,
        "record": op.target_key,
        "attempt": op.attempts,
    }
    if target_id:
        ids["target_id"] = target_id
    return ids
