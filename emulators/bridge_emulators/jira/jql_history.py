"""JQL's history operators over an issue's changelog (https://support.atlassian.com/jira-software-cloud/docs/
jql-operators/): ``WAS``, ``WAS NOT``, ``WAS IN``, ``WAS NOT IN`` with ``AFTER BEFORE BY DURING ON``, and ``CHANGED``
with ``FROM TO BY AFTER BEFORE DURING ON``, for the fields Jira keeps history of here: status, priority,
resolution, assignee and reporter.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import BadRequest
from .model import Issue

HISTORY_FIELDS = frozenset({"status", "priority", "resolution", "assignee", "reporter"})


@dataclass(frozen=True)
class Period:
    """A value a field held, from ``start`` until ``end`` (None: still), and who set it (None: at creation)."""

    value: str | None
    start: datetime
    end: datetime | None
    by: str | None


@dataclass(frozen=True)
class When:
    """The time predicates of a clause: each a test of a moment or of a period."""

    after: datetime | None = None
    before: datetime | None = None
    on: datetime | None = None
    during: tuple[datetime, datetime] | None = None
    by: str | None = None

    def holds_for(self, start: datetime, end: datetime | None) -> bool:
        """Whether ``[start, end)`` meets every time predicate."""
        later = end or datetime.max.replace(tzinfo=start.tzinfo)
        checks = [
            self.after is None or later > self.after,
            self.before is None or start < self.before,
            self.on is None or (start < self.on + timedelta(days=1) and later > self.on),
            self.during is None or (start <= self.during[1] and later >= self.during[0]),
        ]
        return all(checks)


def periods(
    issue: Issue, field: str, current: Callable[[Issue], str | None], norm: Callable[[str | None], str | None]
) -> list[Period]:
    """The field's values over the issue's life, from its changelog (normalised as the clause's values are)."""
    changes = [c for c in issue.history if c.field == field]
    first = norm(changes[0].before) if changes else current(issue)
    found, start, value, by = [], issue.created, first, None
    for change in changes:
        found.append(Period(value, start, change.at, by))
        start, value, by = change.at, norm(change.after), change.author.account_id
    found.append(Period(value, start, None, by))
    return found


def was(values: set[str | None], negated: bool, when: When, history: list[Period]) -> bool:
    """WAS (IN): some period held one of the values under the predicates; WAS NOT (IN): none did."""
    held = any(
        p.value in values and when.holds_for(p.start, p.end) and (when.by is None or p.by == when.by) for p in history
    )
    return held != negated


def changed(before: set[str | None] | None, after: set[str | None] | None, when: When, history: list[Period]) -> bool:
    """CHANGED: some change (the start of every period but the first) meets FROM, TO, BY and the time predicates."""
    for previous, period in itertools.pairwise(history):
        if before is not None and previous.value not in before:
            continue
        if after is not None and period.value not in after:
            continue
        if when.by is not None and period.by != when.by:
            continue
        if when.holds_for(period.start, period.start):
            return True
    return False


def require_history(field: str, name: str) -> None:
    if field not in HISTORY_FIELDS:
        raise BadRequest(f"History searches do not support the '{name}' field.")
