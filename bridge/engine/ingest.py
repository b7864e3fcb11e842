"""Group commit for the inbox: concurrent webhook requests share one transaction.

A request hands its event to the writer thread and waits; the writer takes everything queued (up to a batch),
commits it in one transaction and then answers every waiter. Each answer still means "committed", but a burst
of alerts costs a few commits instead of one per request, and the single SQLite writer lock is taken far less
often, which is what lets ingest keep up while the processor and dispatcher write too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from bridge.store import Store
from bridge.store import inbox as ib

log = logging.getLogger("bridge.ingest")

_Item = tuple[list[ib.NewEvent], "Future[list[ib.Accepted]]"]


class InboxWriter:
    def __init__(self, store: Store, *, max_batch: int = 500) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._thread.start()

    def submit(self, events: list[ib.NewEvent]) -> Future[list[ib.Accepted]]:
        """Queue events for the next commit; the future resolves once they are durable (or fails)."""
        future: Future[list[ib.Accepted]] = Future()
        self._queue.put((events, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._commit(batch)
                    return
                batch.append(item)
                size += len(item[0])
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        events = [ev for evs, _ in batch for ev in evs]
        try:
            accepted = ib.add_events(self.store, events)
        except Exception as exc:  # every waiter learns the commit failed; none is told "accepted"
            log.exception("inbox commit failed", extra={"events": len(events)})
            for _, future in batch:
                future.set_exception(exc)
            return
        start = 0
        for evs, future in batch:
            future.set_result(accepted[start : start + len(evs)])
            start += len(evs)


class IngestPressure:
    """Tells background work when webhooks are busy, so accepting comes first during an alert storm.

    Azure and partners retry when an answer is slow, so under a burst the bridge spends its CPU on accepting
    (durably) and lets planning and delivery catch up a moment later; at ordinary rates nothing is held back.
    Two signals: the rate of events, and how many webhook requests wait for their commit at once. The second
    matters on a slow machine: there a storm may never reach the rate, precisely because planning and delivery
    take the CPU that accepting needs, while senders queue up. Either holds the signal for a window, but only
    while senders keep coming: once no request waits and none came for ``quiet`` seconds the burst is over,
    and planning and delivery go at full speed at once rather than idling out the window. ``clock`` (seconds,
    monotonic) is injectable, so a test steps past the window instead of sleeping through it.
    """

    def __init__(
        self,
        *,
        threshold_per_second: float = 200.0,
        window: float = 0.5,
        concurrent: int = 8,
        quiet: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold_per_second * window
        self.window = window
        self.concurrent = concurrent
        self.quiet = quiet
        self.clock = clock
        self._last = float("-inf")
        self._count = 0
        self._waiting = 0
        self._window_start = clock()
        self._busy_until = 0.0
        self._lock = threading.Lock()

    def record(self, events: int) -> None:
        """A webhook request handed ``events`` to the inbox writer; call :meth:`committed` when it is answered."""
        now = self.clock()
        with self._lock:
            if now - self._window_start > self.window:
                self._window_start, self._count = now, 0
            self._count += events
            self._waiting += 1
            self._last = now
            if self._count > self.threshold or self._waiting >= self.concurrent:
                self._busy_until = now + self.window

    def committed(self) -> None:
        with self._lock:
            self._waiting = max(0, self._waiting - 1)

    def busy(self) -> bool:
        now = self.clock()
        return now < self._busy_until and (self._waiting > 0 or now - self._last < self.quiet)

    def yield_if_busy(self, seconds: float = 0.1, step: float = 0.01) -> None:
        """Called by background loops between batches: pause up to ``seconds`` while webhooks are busy (less
        when the burst ends meanwhile)."""
        deadline = time.monotonic() + seconds
        while self.busy() and time.monotonic() < deadline:
            time.sleep(step)
