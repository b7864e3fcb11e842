"""In-memory table storage with equality indexes and a cache of query results.

A table of 100,000 rows must answer "find by correlation_id" and page through a filtered, ordered result
without scanning everything on every call: equality terms use a lazily built value -> sys_ids index, and the
full ordered result of a query is cached (keyed by the query, invalidated by the table's version) so page
*n* of a listing costs a slice, not a new scan. ``tested`` counts the rows queries had to test, so a test can
check that (rather than time it).

Rows are never mutated in place: a write stores a new dict, so a reader holding an old row sees a consistent
snapshot without holding the lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from .paths import Resolver, Row, sort_rows
from .query import ParsedQuery, Term
from .schema import TableSchema

CACHE_SIZE = 64


class Table:
    """The rows of one table in insertion order."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.rows: dict[str, Row] = {}
        self.order: dict[str, int] = {}
        self.version = 0
        self._eq: dict[str, dict[str, set[str]]] = {}
        self._cache: OrderedDict[str, tuple[int, list[str]]] = OrderedDict()
        #: rows tested against a query's terms since the table was made: the work a scan or an index hit cost
        self.tested = 0

    def put(self, row: Row, seq: int) -> None:
        """Insert or replace a row (a replaced row keeps its place in the insertion order)."""
        sys_id = row["sys_id"]
        old = self.rows.get(sys_id)
        for name, index in self._eq.items():
            if old is not None:
                _discard(index, old.get(name, ""), sys_id)
            index.setdefault(row.get(name, ""), set()).add(sys_id)
        self.rows[sys_id] = row
        self.order.setdefault(sys_id, seq)
        self.version += 1

    def remove(self, sys_id: str) -> Row | None:
        """Delete a row; returns it, or None when it was not there."""
        old = self.rows.pop(sys_id, None)
        if old is None:
            return None
        self.order.pop(sys_id, None)
        for name, index in self._eq.items():
            _discard(index, old.get(name, ""), sys_id)
        self.version += 1
        return old

    def lookup(self, name: str, value: str) -> set[str]:
        """sys_ids whose column ``name`` equals ``value`` exactly (builds the index on first use)."""
        index = self._eq.get(name)
        if index is None:
            index = {}
            for sys_id, row in self.rows.items():
                index.setdefault(row.get(name, ""), set()).add(sys_id)
            self._eq[name] = index
        return index.get(value, set())

    def select(self, query: ParsedQuery, key: str, resolve: Resolver) -> list[str]:
        """sys_ids matching the query, in its order (insertion order when it has none)."""
        cached = self._cache.get(key) if query.cacheable else None
        if cached is not None and cached[0] == self.version:
            self._cache.move_to_end(key)
            return cached[1]
        rows = [self.rows[i] for i in self._candidates(query)]
        self.tested += len(rows)
        matching = [r for r in rows if query.matches(r, resolve)]
        if query.order:
            matching = sort_rows(matching, query.order, resolve)
        ids = [r["sys_id"] for r in matching]
        if query.cacheable:
            self._cache[key] = (self.version, ids)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return ids

    def _candidates(self, query: ParsedQuery) -> Iterable[str]:
        """Rows worth testing: the union over OR-groups of an equality index hit, else every row."""
        found: set[str] = set()
        for group in query.groups:
            hit = self._group_candidates(group)
            if hit is None:
                return list(self.rows)
            found |= hit
        if not query.groups:
            return list(self.rows)
        return sorted(found, key=self.order.__getitem__)

    def _group_candidates(self, group: list[list[Term]]) -> set[str] | None:
        """The smallest index hit among the group's single-term equality clauses, or None."""
        best: set[str] | None = None
        for clause in group:
            name = clause[0].plain_field if len(clause) == 1 else None
            if name is None or clause[0].path.last.numeric:
                continue
            hit = self.lookup(name, clause[0].values[0] if clause[0].values else "")
            if best is None or len(hit) < len(best):
                best = hit
        return set(best) if best is not None else None


def _discard(index: dict[str, set[str]], value: str, sys_id: str) -> None:
    """Remove one sys_id from an equality index bucket, dropping empty buckets."""
    bucket = index.get(value)
    if bucket is not None:
        bucket.discard(sys_id)
        if not bucket:
            del index[value]
