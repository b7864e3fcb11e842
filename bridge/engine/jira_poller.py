"""Change capture from a Jira Service Management project by JQL ``updated >=`` polling, with a watermark.

Each issue seen becomes an inbox event keyed ``<issue key>:<updated version>``; the signed webhook stores its
deliveries under the same key (see :func:`jira_event`), so a change seen both ways, or re-read in the overlap
window, is stored once. The adapter pages by ``created, key`` (not by ``updated``), so the watermark moves to
the largest ``updated`` only after the whole scan is durable in the inbox: a crash re-reads, never skips. A
cluster-wide lock keeps two daemons from polling the same route at once, like the ServiceNow poller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Protocol

from bridge.adapters._jira_support import JiraIssue
from bridge.engine.poller import ChangePage, PollResult, PollSettings
from bridge.store import Store, records
from bridge.store import inbox as ib

log = logging.getLogger("bridge.poller")


class IssueSource(Protocol):
    def iter_updated(self, since: datetime, *, overlap: timedelta = ...) -> Iterator[JiraIssue]: ...


def jira_event(route: str, source: str, key: str, version: str) -> ib.NewEvent:
    """One Jira issue change as an inbox event; the flow reads the issue's current state when it plans."""
    return ib.NewEvent(
        source=f"jira:{source}",
        route=route,
        dedupe_key=f"{key}:{version}",
        record_key=key,
        payload=json.dumps({"table": "jira", "record": {"key": key, "version": version}}, separators=(",", ":")),
    )


class JiraPoller:
    """Polls one Jira project for a route; same interface as the ServiceNow poller (``poll_once``)."""

    def __init__(
        self,
        store: Store,
        source: IssueSource,
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
        self.name = f"poll:{route}:jira"

    def poll_once(self) -> PollResult:
        """One poll, if this process holds the route's poll lock."""
        with self.store.singleton(self.name) as mine:
            if not mine:
                return PollResult()
            return self._poll()

    def read_pages(self, since: datetime, *, overlap: timedelta = timedelta(0)) -> Iterator[ChangePage]:
        """Every issue updated at or after ``since - overlap`` (JQL ``updated >=``) as inbox events, a page at a
        time; the poll and a resync both read through here. Pages are not in ``updated`` order (see above)."""
        issues = self.source.iter_updated(since, overlap=overlap)
        while page := list(islice(issues, self.settings.page_size)):
            events = [jira_event(self.route, self.settings.source, i.key, i.version) for i in page]
            yield ChangePage(events, max(i.version for i in page))

    def _poll(self) -> PollResult:
        result = PollResult(watermark=self._watermark())
        overlap = timedelta(seconds=self.settings.overlap_seconds)
        newest = result.watermark
        for page in self.read_pages(self._since(result.watermark), overlap=overlap):
            accepted = self.ingest(page.events)
            result.seen += len(page.events)
            result.new += sum(not a.duplicate for a in accepted)
            newest = max(newest or "", page.newest)
        if newest and newest != result.watermark:
            with self.store.begin() as conn:
                records.set_watermark(conn, self.store, self.name, newest)
            result.watermark = newest
        if result.new:
            log.info("polled changes", extra={"route": self.route, "seen": result.seen, "new": result.new})
        return result

    def _watermark(self) -> str | None:
        with self.store.begin() as conn:
            return records.get_watermark(conn, self.name)

    def _since(self, watermark: str | None) -> datetime:
        if watermark:
            return datetime.fromisoformat(watermark)
        return self.clock() - timedelta(seconds=self.settings.initial_lookback_seconds)
