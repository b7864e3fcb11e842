"""The search index, which lags behind writes as Jira Cloud's does.

Jira Cloud's JQL search reads an index that is eventually consistent: an issue created or changed a moment ago
may be missing from the results, or matched as it was before the change, for seconds (sometimes more), unless
its id is passed in ``reconcileIssues`` (https://developer.atlassian.com/cloud/jira/platform/rest/v3/
api-group-issue-search/#api-rest-api-3-search-jql-post). The emulator keeps, per issue, the snapshots its
writes made, each visible to search ``lag`` after the write; a search matches and orders on the newest visible
snapshot and returns the issue as it is now (the fields are read from the database, only the match is stale).
With no lag every write is visible at once.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .model import Issue


@dataclass(frozen=True)
class Snapshot:
    """An issue as one write left it, and when search starts to see it."""

    visible_at: datetime
    issue: Issue


def snapshot_of(issue: Issue) -> Issue:
    """A copy that later writes to ``issue`` do not change."""
    return replace(
        issue,
        labels=list(issue.labels),
        custom=dict(issue.custom),
        comments=[copy.copy(c) for c in issue.comments],
        attachments=list(issue.attachments),
        history=list(issue.history),
    )


class SearchIndex:
    """Snapshots per issue key; the caller (the site's state) holds its own lock around writes and reads."""

    def __init__(self) -> None:
        self.lag = timedelta(0)
        self._snapshots: dict[str, list[Snapshot]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every snapshot (the site was reset)."""
        with self._lock:
            self._snapshots.clear()

    def write(self, issue: Issue, now: datetime) -> None:
        """Record the issue as it is after a write made at ``now``."""
        with self._lock:
            self._snapshots.setdefault(issue.key, []).append(Snapshot(now + self.lag, snapshot_of(issue)))

    def caught_up_at(self) -> datetime | None:
        """When search will show every write made so far (None: it already may, nothing was written)."""
        with self._lock:
            latest = [s[-1].visible_at for s in self._snapshots.values() if s]
            return max(latest) if latest else None

    def visible(self, issue: Issue, now: datetime) -> Issue | None:
        """The issue as search sees it at ``now``: its newest visible snapshot, None when none is visible yet."""
        with self._lock:
            snapshots = self._snapshots.get(issue.key, [])
            seen = [n for n, s in enumerate(snapshots) if s.visible_at <= now]
            if not seen:
                return None
            newest = seen[-1]
            del snapshots[:newest]  # older snapshots can never be seen again
            return snapshots[0].issue
