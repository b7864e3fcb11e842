"""Batched delivery: many records' head operations for one target in one call (ServiceNow's Batch API).

The dispatcher's claim hands out only the head operation of each record's queue (and a child only once its
parent's operations are finished), so any set of claimed operations is a set of independent records: putting
them in one call never reorders one record's writes. This module decides the grouping; the adapter sends.

What goes in a batch: operations for a target whose adapter batches (``batch_size`` > 1), of an action it
batches, that need no read first (an uncertain create's lookup and a business-key lookup stay on the single
path), two or more at a time. Each operation keeps its own outcome: done, retry (with the same backoff and
``Retry-After`` as alone) or dead letter, decided by the same :func:`bridge.failures.decide`.

When a claim shows work for a batching target, the dispatcher claims more of that target's batchable
operations ("top-up") so that calls are full: up to ``batch_size`` per free batch slot, one slot per worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
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


class Batcher:
    """Groups claimed operations per batching target and delivers each group on one pool thread."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._d = dispatcher
        self.adapters: dict[str, BatchingAdapter] = {
            name: adapter
            for name, adapter in dispatcher.adapters.items()
            if isinstance(adapter, BatchingAdapter) and adapter.batch_size > 1
        }
        #: op ids in flight inside batches (the dispatcher's per-operation capacity does not count them)
        self.ops: set[int] = set()
        self._running: dict[str, set[Future[None]]] = {name: set() for name in self.adapters}
        self._lock = threading.Lock()

    # --- claiming (the dispatcher's loop thread) ------------------------------------------------------

    def top_up(self, claimed: Sequence[ob.Claimed], *, paused: list[str]) -> list[ob.Claimed]:
        """More claimable operations for each batching target the claim showed work for, to fill its calls."""
        extra: list[ob.Claimed] = []
        for name, adapter in self.adapters.items():
            wanted = sum(1 for c in claimed if c.op.target_system == name and c.op.action in adapter.batch_actions)
            if not wanted:
                continue
            room = self._d.settings.workers - self._in_flight(name)
            limit = room * adapter.batch_size - wanted
            if limit > 0:
                extra += ob.claim(
                    self._d.store,
                    owner=self._d.owner,
                    limit=limit,
                    lease_seconds=self._d.settings.lease_seconds,
                    paused=paused,
                    only=(name, sorted(adapter.batch_actions)),
                )
        return extra

    def split(self, claimed: Sequence[ob.Claimed]) -> tuple[list[list[ob.Claimed]], list[ob.Claimed]]:
        """(groups to send as batches, operations to deliver alone)."""
        singles: list[ob.Claimed] = []
        by_target: dict[str, list[ob.Claimed]] = {}
        for item in claimed:
            adapter = self.adapters.get(item.op.target_system)
            if adapter is not None and item.op.action in adapter.batch_actions and not _needs_lookup(item):
                by_target.setdefault(item.op.target_system, []).append(item)
            else:
                singles.append(item)
        groups: list[list[ob.Claimed]] = []
        for name, items in by_target.items():
            items, held = one_per_record(items)
            singles += held  # cannot happen (the claim hands out heads only); alone, they stay correct
            if len(items) < 2:
                singles += items
                continue
            size = self.adapters[name].batch_size
            groups += [items[i : i + size] for i in range(0, len(items), size)]
        return groups, singles

    def started(self, group: Sequence[ob.Claimed], future: Future[None]) -> None:
        name = group[0].op.target_system
        with self._lock:
            self._running[name].add(future)
        self.ops.update(item.op.id for item in group)
        future.add_done_callback(lambda f: self._ended(name, f))

    def _ended(self, name: str, future: Future[None]) -> None:
        with self._lock:
            self._running[name].discard(future)

    def _in_flight(self, name: str) -> int:
        with self._lock:
            return len(self._running[name])

    # --- delivering (a pool thread) -------------------------------------------------------------------

    def deliver(self, group: Sequence[ob.Claimed]) -> None:
        """Send one group and record one outcome per operation."""
        started = time.perf_counter()
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
        elapsed = time.perf_counter() - started
        for item, outcome in outcomes:
            metrics.DELIVERY_SECONDS.labels(item.op.route, item.op.target_system).observe(elapsed)
            metrics.DELIVERIES.labels(item.op.route, item.op.target_system, outcome.status).inc()
            self._d._outcomes.put(outcome)
        self._d._wake.set()

    def _prepare(
        self, group: Sequence[ob.Claimed]
    ) -> tuple[list[tuple[ob.Claimed, Operation]], list[tuple[ob.Claimed, ob.Outcome]]]:
        """Each operation as the adapter gets it: references resolved from the links (one transaction for the
        group), a create of a record the links already know turned into an update. Failures become outcomes."""
        ready: list[tuple[ob.Claimed, Operation]] = []
        failed: list[tuple[ob.Claimed, ob.Outcome]] = []
        with self._d.store.begin() as conn:
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
    for field, (system, record_id) in op.payload["resolve"].items():
        target_id = known.get((system, record_id, op.target_system))
        if target_id is None:
            raise PermanentError(f"{field}: {system}:{record_id} has no record on {op.target_system} (yet)")
        resolved[field] = target_id
    payload = {k: v for k, v in op.payload.items() if k != "resolve"}
    payload["fields"] = {**payload.get("fields", {}), **resolved}
    return replace(op, payload=payload)
