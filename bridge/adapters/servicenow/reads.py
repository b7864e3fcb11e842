"""Streaming reads: pages fetched one at a time, only when the consumer asks for the next record.

``pages`` uses ``sysparm_offset`` with a final ``ORDERBYsys_id`` so page boundaries are deterministic.
``changes`` does not use offsets: a record updated while a change feed is being read moves to the end of
``ORDERBYsys_updated_on``, which would shift every later record back by one and skip one at the next page
boundary, and the watermark would then pass it for good. It pages by key instead (last timestamp, then
sys_id within that timestamp), so a moving record is at worst seen twice, never lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from bridge.errors import PermanentError, TransientError

from .api import JSON, TableApi
from .queries import glide_datetime, join, query_value

ORDER_CHANGES = "ORDERBYsys_updated_on^ORDERBYsys_id"
KEY_FIELDS = ("sys_id", "sys_updated_on")


@dataclass(frozen=True)
class Pager:
    """Reads of one API path in pages of ``page_size``."""

    api: TableApi
    path: str
    page_size: int

    def pages(self, query: str, fields: Sequence[str]) -> Iterator[JSON]:
        """Every match, by offset, one page in memory at a time."""
        query = join(query, "" if "ORDERBYsys_id" in query else "ORDERBYsys_id")
        offset, previous = 0, None
        while True:
            rows = self._page(query, fields, offset)
            if rows and rows == previous:
                raise TransientError(f"{self.path}: the instance repeated a page (sysparm_offset ignored)")
            yield from rows
            if len(rows) != self.page_size:  # short page: the end (a longer one: paging was ignored)
                return
            offset, previous = offset + len(rows), rows

    def changes(self, since: datetime, *, until: datetime | None, fields: Sequence[str]) -> Iterator[JSON]:
        """Records with ``sys_updated_on >= since`` (and ``< until``), oldest first, keyset-paged."""
        bound = f"sys_updated_on<{glide_datetime(until)}" if until else ""
        query = join(f"sys_updated_on>={glide_datetime(since)}", bound, ORDER_CHANGES)
        cursor = ("", "")
        while True:
            rows = self._page(query, fields, 0)
            yield from rows
            if len(rows) != self.page_size:
                return
            cursor = _advance(cursor, rows[-1], self.path)
            yield from self._same_stamp(cursor, fields)
            query = join(f"sys_updated_on>{cursor[0]}", bound, ORDER_CHANGES)

    def first_two(self, query: str, fields: Sequence[str]) -> list[JSON]:
        """At most two matches: enough to tell none, one, and too many."""
        return self.api.page(self.path, query=query, fields=fields, limit=2, offset=0)

    def _same_stamp(self, cursor: tuple[str, str], fields: Sequence[str]) -> Iterator[JSON]:
        """The rest of the records sharing the cursor's timestamp, by sys_id."""
        while True:
            query = f"sys_updated_on={cursor[0]}^sys_id>{cursor[1]}^ORDERBYsys_id"
            rows = self._page(query, fields, 0)
            yield from rows
            if len(rows) != self.page_size:
                return
            cursor = _advance(cursor, rows[-1], self.path)

    def _page(self, query: str, fields: Sequence[str], offset: int) -> list[JSON]:
        return self.api.page(self.path, query=query, fields=fields, limit=self.page_size, offset=offset)


def _advance(cursor: tuple[str, str], record: JSON, path: str) -> tuple[str, str]:
    """The (sys_updated_on, sys_id) after ``record``; it must move forward, or the feed would loop."""
    stamp = query_value(record.get("sys_updated_on"), field="sys_updated_on")
    key = (stamp, query_value(record.get("sys_id"), field="sys_id"))
    if key <= cursor:
        raise TransientError(f"{path}: the instance did not honour the change-feed order; stopping")
    return key


def only_match(rows: list[JSON], *, table: str, field: str, value: str) -> JSON | None:
    """The single record whose ``field`` equals ``value``; PermanentError on more than one.

    A returned record whose value is not ``value`` (ignoring case, as a case-insensitive database
    collation may match) means the instance ignored the condition: an unknown field or a query it could not
    parse. That is an error, never a match. Records differing only in case are someone else's.
    """
    exact = []
    for row in rows:
        actual = str(row.get(field, ""))
        if actual.casefold() != value.casefold():
            raise PermanentError(f"{table}: the instance ignored the condition on {field!r}; refusing the result")
        if actual == value:
            exact.append(row)
    if len(exact) > 1:
        raise PermanentError(f"{table}: more than one record has {field}={value!r}")
    return exact[0] if exact else None
