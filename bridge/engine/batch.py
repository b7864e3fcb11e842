"""Batched delivery: many records' head operations for one target in one call (ServiceNow's Batch API).

The dispatcher's claim hands out only the head operation of each record's queue (and a child only once its
parent's operations are finished), so any set of claimed operations is a set of independent records: putting
them in one call never reorders one record's writes. This module decides the grouping; the adapter sends.

What goes in a batch: operations for a target whose adapter batches (``batch_size`` > 1), of an action it
batches, that need no read first (an uncertain create's lookup and a business-key lookup stay on the single
path), two or more at a time. Each operation keeps its own outcome: done, retry (with the same backoff and
``Retry-After`` as alone) or dead letter, decided by the same :func:`bridge.failures.decide`.

When a claim shows work for a batching target, the dispatcher claims more of that target's batchable
operations ("top-up") so that calls are full: up to ``batch_size`` per free batch slot (half the workers, so
single deliveries keep threads while a big sync runs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bridge import metrics
from bridge.adapters.base import BatchingAdapter, DeliveryResult, Operation
from bridge.errors import PermanentError
from bridge.failures import decide
from bridge.store import links
from bridge.store import outbox as ob

if TYPE_CHECKING:
    from bridge.engine.dispatcher import Dispatcher

log = logging.getLogger("bridge.dispatcher")

CREATE_ACTIONS = ("create", "upsert")
#: the longest a part-filled call waits for more work while the target has other calls in flight
HOLD_SECONDS = 2.0


@dataclass
class Group:
    """One batch call's operations, and any that must follow one of them alone (defensive: the claim never
    hands out two operations of one record, so ``after`` stays empty)."""

    items: list[ob.Claimed]
    after: list[ob.Claimed] = field(default_factory=list)


Plan = tuple[list[Group], list[ob.Claimed]]


class Batcher:
    """Groups claimed operations per batching target and delivers each group on one pool thread."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._d = dispatcher
        self.adapters: dict[str, BatchingAdapter] = {
            name: adapter
            for name, adapter in dispatcher.adapters.items()
            if isinstance(adapter, BatchingAdapter) and adapter.batch_size > 1
        }
        #: op id -> target of operations sent in batches whose outcomes are not yet recorded (the dispatcher's
        #: per-operation capacity does not count them; a target with any is still busy)
        self.ops: dict[int, str] = {}
        #: the operations sent in batches whose outcomes wait in the dispatcher's queue (its count of waiting
        #: outcomes includes them: counted once, not twice, when it works out its free capacity)
        self.reported: set[int] = set()
        self._running: dict[str, set[Future[None]]] = {name: set() for name in self.adapters}
        self._held: dict[str, list[ob.Claimed]] = {}
        self._held_since: dict[str, float] = {}
        self._lock = threading.Lock()
        #: batch calls in flight per target: half the pool, so single deliveries (other targets, comments)
        #: keep threads while a big sync runs
        self.slots = max(1, dispatcher.settings.workers // 2)

    # --- claiming and grouping (the dispatcher's loop thread) ----------------------------------------

    def collect(self, claimed: Sequence[ob.Claimed], *, paused: list[str]) -> tuple[list[Group], list[ob.Claimed]]:
        """(groups to send as batches now, operations to deliver alone), topping up each batching target's
        claim to fill its calls and holding back a part-filled call while that target has calls in flight."""
        singles, pools = self._sort(claimed)
        groups: list[Group] = []
        for name, adapter in self.adapters.items():
            pool = self._held.pop(name, []) + pools.get(name, [])
            if not pool or adapter.batch_size < 2:  # nothing to send, or batching refused since start-up
                singles += pool
                self._held_since.pop(name, None)
                continue
            running = self._in_flight(name)
            room = self.slots - running
            running = running or any(target == name for target in self.ops.values())
            if room > 0 and room * adapter.batch_size > len(pool):
                alone, more = self._sort(self._claim(name, adapter, room * adapter.batch_size - len(pool), paused))
                singles += alone
                pool += more.get(name, [])
            send, held = self._plan_calls(name, pool, room=room, size=adapter.batch_size, running=running)
            groups += [group for group in send if len(group.items) > 1 or group.after]
            singles += [group.items[0] for group in send if len(group.items) == 1 and not group.after]  # alone
            if held:
                self._held[name] = held
                self._held_since.setdefault(name, time.monotonic())
            else:
                self._held_since.pop(name, None)
        return groups, singles

    def held_ids(self) -> list[int]:
        """The operations claimed and held back for a fuller call (given back at shutdown)."""
        return [item.op.id for items in self._held.values() for item in items]

    def _plan_calls(self, name: str, pool: list[ob.Claimed], *, room: int, size: int, running: int) -> Plan:
        """Full calls up to ``room``; a part-filled last call waits while other calls of the target are in
        flight (their records' children join it), at most ``HOLD_SECONDS``."""
        first, later = one_per_record(pool)
        chunks = [first[i : i + size] for i in range(0, len(first), size)]
        send, held = chunks[: max(room, 0)], [item for chunk in chunks[max(room, 0) :] for item in chunk]
        overdue = time.monotonic() - self._held_since.get(name, time.monotonic()) > HOLD_SECONDS
        if send and len(send[-1]) < size and (running or len(send) > 1) and not overdue:
            held = send.pop() + held
        groups = [Group(chunk) for chunk in send]
        if groups:
            groups[-1].after = later  # another operation of a record already in the call: after it, alone
        else:
            held += later
        return groups, held

    def _claim(self, name: str, adapter: BatchingAdapter, limit: int, paused: list[str]) -> list[ob.Claimed]:
        return ob.claim(
            self._d.store,
            owner=self._d.owner,
            limit=limit,
            lease_seconds=self._d.settings.lease_seconds,
            paused=paused,
            only=(name, sorted(adapter.batch_actions)),
        )

    def _sort(self, claimed: Sequence[ob.Claimed]) -> tuple[list[ob.Claimed], dict[str, list[ob.Claimed]]]:
        """(operations to deliver alone, batchable operations by target)."""
        singles: list[ob.Claimed] = []
        pools: dict[str, list[ob.Claimed]] = {}
        for item in claimed:
            adapter = self.adapters.get(item.op.target_system)
            if adapter is not None and item.op.action in adapter.batch_actions and not _needs_lookup(item):
                pools.setdefault(item.op.target_system, []).append(item)
            else:
                singles.append(item)
        return singles, pools

    def started(self, group: Group, future: Future[None]) -> None:
        name = group.items[0].op.target_system
        with self._lock:
            self._running[name].add(future)
        self.ops.update((item.op.id, name) for item in group.items)
        future.add_done_callback(lambda f: self._ended(name, f))

    def forget(self, op_ids: Sequence[int]) -> None:
        """Outcomes written: their operations no longer count against the target or the dispatcher."""
        with self._lock:
            for op_id in op_ids:
                self.ops.pop(op_id, None)
                self.reported.discard(op_id)

    def _ended(self, name: str, future: Future[None]) -> None:
        with self._lock:
            self._running[name].discard(future)

    def _in_flight(self, name: str) -> int:
        with self._lock:
            return len(self._running[name])

    # --- delivering (a pool thread) -------------------------------------------------------------------

    def deliver(self, group: Group) -> None:
        """Send one group, record one outcome per operation, then deliver its ``after`` operations alone."""
        self._send(group.items)
        for item in group.after:
            self._d._deliver(item, time.monotonic())

    def _send(self, group: Sequence[ob.Claimed]) -> None:
        started = time.perf_counter()
        try:
            outcomes = self._call(group)
        except BaseException as exc:  # the store out of reach, a bug: no operation may stay in flight without one
            decision = decide(exc)
            outcomes = [(item, self._d._failed(item, decision)) for item in group]
        elapsed = time.perf_counter() - started
        with self._lock:  # before they are queued: the dispatcher may under-count its room for a moment, never over
            self.reported.update(item.op.id for item, _ in outcomes)
        for item, outcome in outcomes:
            metrics.DELIVERY_SECONDS.labels(item.op.route, item.op.target_system).observe(elapsed)
            metrics.DELIVERIES.labels(item.op.route, item.op.target_system, outcome.status).inc()
            self._d._outcomes.put(outcome)
        self._d._wake.set()

    def _call(self, group: Sequence[ob.Claimed]) -> list[tuple[ob.Claimed, ob.Outcome]]:
        """One Batch API call for the group; one outcome per operation."""
        adapter = self.adapters[group[0].op.target_system]
        ready, outcomes = self._prepare(group)
        try:
            results = adapter.deliver_batch([op for _, op in ready]) if ready else []
        except BaseException as exc:  # a bug in the adapter: every operation of the group is classified
            results = [exc] * len(ready)
        for (item, _), result in zip(ready, results, strict=True):
            if isinstance(result, DeliveryResult):
                outcomes.append((item, self._d._done(item, result)))
            else:
                outcomes.append((item, self._d._failed(item, decide(result))))
        return outcomes

    def _prepare(
        self, group: Sequence[ob.Claimed]
    ) -> tuple[list[tuple[ob.Claimed, Operation]], list[tuple[ob.Claimed, ob.Outcome]]]:
        """Each operation as the adapter gets it: references resolved from the links (one transaction for the
        group), a create of a record the links already know turned into an update. Failures become outcomes."""
        ready: list[tuple[ob.Claimed, Operation]] = []
        failed: list[tuple[ob.Claimed, ob.Outcome]] = []
        with self._d.store.begin() as conn:  # out of reach: :meth:`_send` sends the group back to be retried
            known = _known_links(conn, [item.op for item in group])
        for item in group:
            try:
                op = _resolved(item.op, known)
            except PermanentError as exc:
                failed.append((item, self._d._failed(item, decide(exc))))
                continue
            if op.action == "create" and op.target_id is not None:
                op = replace(op, action="update")
            ready.append((item, op))
        return ready, failed


def one_per_record(items: Sequence[ob.Claimed]) -> tuple[list[ob.Claimed], list[ob.Claimed]]:
    """(the first operation of each record, any further ones): one batch never carries two of one record."""
    seen: set[tuple[str, str]] = set()
    first: list[ob.Claimed] = []
    rest: list[ob.Claimed] = []
    for item in items:
        key = (item.op.target_system, item.op.target_key)
        (rest if key in seen else first).append(item)
        seen.add(key)
    return first, rest


def _needs_lookup(item: ob.Claimed) -> bool:
    """Whether delivering ``item`` starts with a read (those stay on the single path, which does it)."""
    op = item.op
    if op.action in CREATE_ACTIONS and op.target_id is None and op.attempts > 1 and op.correlation:
        return True  # an uncertain earlier create: look for its record first
    # an update addressed by a business key, or one whose link is missing (the single path reports it)
    return op.target_id is None and op.action not in CREATE_ACTIONS


Links = dict[tuple[str, str, str], str]


def _known_links(conn: sa.Connection, ops: Sequence[Operation]) -> Links:
    """The target ids of every record the group's operations name by link, one query per system pair."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for op in ops:
        for system, record_id in (op.payload.get("resolve") or {}).values():
            wanted.setdefault((system, op.target_system), []).append(record_id)
    known: Links = {}
    for (system, other), ids in wanted.items():
        known.update(
            {(system, mine, other): theirs for mine, theirs in links.find_links(conn, system, ids, other).items()}
        )
    return known


def _resolved(op: Operation, known: Links) -> Operation:
    """``op`` with the fields that name another record by its link filled in (a child's parent)."""
    if "resolve" not in op.payload:
        return op
    resolved: dict[str, str] = {}
    for name, (system, record_id) in op.payload["resolve"].items():
        target_id = known.get((system, record_id, op.target_system))
        if target_id is None:
            raise PermanentError(f"{name}: {system}:{record_id} has no record on {op.target_system} (yet)")
        resolved[name] = target_id
    payload = {k: v for k, v in op.payload.items() if k != "resolve"}
    payload["fields"] = {**payload.get("fields", {}), **resolved}
    return replace(op, payload=payload)
