"""Change capture by polling ServiceNow: the safety net under push, and the only path where push is absent.

Each poll reads `sys_updated_on >= watermark - overlap`, ordered by `sys_updated_on, sys_id`, page by page.
Every change becomes an inbox event keyed `sys_id:sys_mod_count`, so a record seen again (the overlap window,
many records sharing one second, the same change also pushed by the business rule) is stored once. The
watermark only moves after a page is durable in the inbox, so a crash re-reads rather than skips. The overlap
covers transactions that commit with an earlier `sys_updated_on` than records already read, and clock skew.
A cluster-wide lock makes sure two daemons never poll the same route at once.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bridge.store import Store, records
from bridge.store import inbox as ib

log = logging.getLogger("bridge.poller")
SN_TIME = "%Y-%m-%d %H:%M:%S"
T = TypeVar("T")
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per change


class PollSettings(BaseModel):
    """`options.poll` of a route: which ServiceNow table to watch, through which configured target."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="the configured servicenow target to read from")
    table: str = "incident"
    interval_seconds: float = Field(30.0, ge=0.1)
    overlap_seconds: float = Field(60.0, ge=0, description="re-read this far behind the watermark")
    initial_lookback_seconds: float = Field(3600.0, ge=0, description="first poll starts this far back")
    fields: list[str] | None = None
    page_size: int = Field(500, ge=1, le=10_000)


class ChangeSource(Protocol):
    def iter_changes(
        self, table: str, since: datetime, *, fields: Sequence[str] | None = ..., overlap: timedelta = ...
    ) -> Iterator[dict[str, Any]]: ...


@dataclass
class PollResult:
    seen: int = 0
    new: int = 0
    watermark: str | None = None


@dataclass(frozen=True)
class ChangePage:
    """One page of a source read as inbox events, with the newest change time in it (watermark format)."""

    events: list[ib.NewEvent]
    newest: str


def change_event(route: str, table: str, record: dict[str, Any], *, own_keys: bool = False) -> ib.NewEvent:
    """One ServiceNow change as an inbox event; push and poll both use this, so they dedupe to one. A route that
    keeps its own keys (``BridgeConfig.keeps_own_keys``) gets its own event for a change another route also saw."""
    sys_id = _value(record.get("sys_id"))
    key = f"{sys_id}:{_value(record.get('sys_mod_count'))}"
    return ib.NewEvent(
        source=f"servicenow:{table}",
        route=route,
        dedupe_key=f"{route}/{key}" if own_keys else key,
        record_key=sys_id,
        payload=_ENCODE({"table": table, "record": record}),
    )


def _value(field: Any) -> str:
    return str(field.get("value", "")) if isinstance(field, dict) else str(field or "")


class WatermarkPoller(ABC):
    """What every polled source shares: the route's cluster-wide poll lock, the stored watermark, and each page
    made durable in the inbox before the watermark moves past it. A subclass reads its source (``read_pages``)
    and says how its watermark is written (``parse_watermark``)."""

    #: the source returns pages in change order, so the watermark may move after each page; otherwise (Jira
    #: pages by creation) it moves only once the whole scan is durable
    pages_in_change_order = True
    #: the route's events get its own redelivery keys (a further azure-alert route: ``keeps_own_keys``)
    own_keys = False

    def __init__(
        self,
        store: Store,
        source: Any,
        *,
        route: str,
        settings: PollSettings,
        ingest: Callable[[list[ib.NewEvent]], list[ib.Accepted]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.source = source
        self.route = route
        self.settings = settings
        self.ingest = ingest
        self.clock = clock
        self.name = f"poll:{route}:{self.lock_suffix()}"

    def lock_suffix(self) -> str:
        return self.settings.table

    @abstractmethod
    def read_pages(self, since: datetime, *, overlap: timedelta = timedelta(0)) -> Iterator[ChangePage]:
        """Every change at or after ``since - overlap`` as inbox events, a page at a time; the poll and a
        resync both read through here."""

    @abstractmethod
    def parse_watermark(self, watermark: str) -> datetime:
        """The stored watermark as a time to read from."""

    def poll_once(self) -> PollResult:
        """One poll, if this process holds the route's poll lock; returns what it saw and stored."""
        with self.store.singleton(self.name) as mine:
            if not mine:
                return PollResult()
            return self._poll()

    def _poll(self) -> PollResult:
        result = PollResult(watermark=self._watermark())
        overlap = timedelta(seconds=self.settings.overlap_seconds)
        newest = result.watermark
        for page in read_ahead(self.read_pages(self._since(result.watermark), overlap=overlap)):
            accepted = self.ingest(page.events)
            result.seen += len(page.events)
            result.new += sum(not a.duplicate for a in accepted)
            if page.newest and (newest is None or page.newest > newest):
                newest = page.newest
                if self.pages_in_change_order:
                    self._move_watermark(result, newest)
        if newest and newest != result.watermark:
            self._move_watermark(result, newest)
        if result.new:
            log.info("polled changes", extra={"route": self.route, "seen": result.seen, "new": result.new})
        return result

    def _move_watermark(self, result: PollResult, newest: str) -> None:
        with self.store.begin() as conn:
            records.set_watermark(conn, self.store, self.name, newest)
        result.watermark = newest

    def _watermark(self) -> str | None:
        with self.store.begin() as conn:
            return records.get_watermark(conn, self.name)

    def _since(self, watermark: str | None) -> datetime:
        if watermark:
            return self.parse_watermark(watermark)
        start = self.clock() - timedelta(seconds=self.settings.initial_lookback_seconds)
        return start.replace(microsecond=0)


class ServiceNowPoller(WatermarkPoller):
    """Polls one ServiceNow table for a route (``sys_updated_on, sys_id`` keyset pages)."""

    source: ChangeSource

    def read_pages(self, since: datetime, *, overlap: timedelta = timedelta(0)) -> Iterator[ChangePage]:
        changes = self.source.iter_changes(self.settings.table, since, fields=self.settings.fields, overlap=overlap)
        while page := list(islice(changes, self.settings.page_size)):
            events = [change_event(self.route, self.settings.table, r, own_keys=self.own_keys) for r in page]
            yield ChangePage(events, max(_value(r.get("sys_updated_on")) for r in page))

    def parse_watermark(self, watermark: str) -> datetime:
        return datetime.strptime(watermark, SN_TIME).replace(tzinfo=UTC)


def read_ahead(pages: Iterator[T]) -> Iterator[T]:
    """Yield ``pages`` while a thread reads (and converts) the next one, so the source's answer time overlaps
    storing the page before; one page waits at most, which bounds memory. The reader's error is raised here, in
    its place in the sequence: the pages before it were stored, the watermark is where they left it."""
    slot: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not offer((True, page)):
                    return
            offer((False, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            offer((False, exc))

    reader = threading.Thread(target=read, name="poll-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            more, item = slot.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        reader.join()
