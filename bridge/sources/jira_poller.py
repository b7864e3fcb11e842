"""Change capture from a Jira Service Management project by JQL ``updated >=`` polling, with a watermark.

Each issue seen becomes an inbox event keyed ``<issue key>:<updated version>``; the signed webhook stores its
deliveries under the same key (see :func:`jira_event`), so a change seen both ways, or re-read in the overlap
window, is stored once. The adapter pages by ``created, key`` (not by ``updated``), so the watermark moves to
the largest ``updated`` only after the whole scan is durable in the inbox: a crash re-reads, never skips. A
cluster-wide lock keeps two daemons from polling the same route at once, like the ServiceNow poller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol

from bridge.adapters._jira_support import JiraIssue
from bridge.sources.poller import ChangePage, WatermarkPoller
from bridge.store import inbox as ib


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


class JiraPoller(WatermarkPoller):
    """Polls one Jira project for a route; the lock, watermark and paging rules are the ServiceNow poller's."""

    source: IssueSource
    pages_in_change_order = False  # pages come by `created, key`: the watermark moves after the whole scan

    def lock_suffix(self) -> str:
        return "jira"

    def read_pages(self, since: datetime, *, overlap: timedelta = timedelta(0)) -> Iterator[ChangePage]:
        """Every issue updated at or after ``since - overlap`` (JQL ``updated >=``) as inbox events, a page at a
        time; the poll and a resync both read through here. Pages are not in ``updated`` order (see above)."""
        issues = self.source.iter_updated(since, overlap=overlap)
        while page := list(islice(issues, self.settings.page_size)):
            events = [jira_event(self.route, self.settings.source, i.key, i.version) for i in page]
            yield ChangePage(events, max(i.version for i in page))

    def parse_watermark(self, watermark: str) -> datetime:
        return datetime.fromisoformat(watermark)
