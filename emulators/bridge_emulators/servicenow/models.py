"""In-memory table storage with equality indexes and a cache of query results.

A table of 100,000 rows must answer "find by correlation_id" and page through a filtered, ordered result
without scanning everything on every call: equality terms use a lazily built value -> sys_ids index, and the
full ordered result of a query is cached (keyed by the query, invalidated by the table's version) so page
*n* of a listing costs a slice, not a new scan. ``tested`` counts the rows queries had to test, so a test can
check that (rather than time it).

A keyset feed asks a new query for every page (``sys_updated_on>T^ORDERBYsys_updated_on^ORDERBYsys_id``, then
``sys_updated_on=T^sys_id>S^ORDERBYsys_id``), which the result cache cannot serve. A real instance answers
those from a database index on the ordering columns; :class:`OrderedIndex` plays that part: the rows sorted by
(equality columns, ordering columns, insertion order), built once per table version, and a query's range on
the leading ordering column found by bisection instead of a scan and a sort.

Rows are never mutated in place: a write stores a new dict, so a reader holding an old row sees a consistent
snapshot without holding the lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import total_ordering

from .paths import Resolver, Row, sort_rows
from .query import ParsedQuery, Term
from .schema import TableSchema

CACHE_SIZE = 64
INDEX_CACHE_SIZE = 8
RANGE_OPERATORS = frozenset({"=", ">", ">=", "<", "<="})


class Table:
    """The rows of one table in insertion order."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.rows: dict[str, Row] = {}
        self.order: dict[str, int] = {}
        self.version = 0
        self._eq: dict[str, dict[str, set[str]]] = {}
        self._cache: OrderedDict[str, tuple[int, list[str]]] = OrderedDict()
        self._ordered: OrderedDict[tuple[str, ...], OrderedIndex] = OrderedDict()
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
        plan = IndexPlan.of(query)
        if plan is not None:
            ids = self._select_ordered(plan, resolve)
        else:
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

    def _select_ordered(self, plan: IndexPlan, resolve: Resolver) -> list[str]:
        """The matches of an ordered query through the index on its columns: a bisected window, then only
        the terms the window does not already decide tested row by row."""
        index = self._ordered.get(plan.columns)
        if index is None or index.version != self.version:
            index = OrderedIndex.build(plan.columns, self.rows, self.order, self.version)
            self._ordered[plan.columns] = index
            while len(self._ordered) > INDEX_CACHE_SIZE:
                self._ordered.popitem(last=False)
        self._ordered.move_to_end(plan.columns)
        start, end = index.window(plan.prefix, plan.ranges)
        ids = index.ids[start:end]
        if not plan.rest:
            return ids
        self.tested += len(ids)
        rows = self.rows
        return [i for i in ids if all(any(t.test(rows[i], resolve) for t in clause) for clause in plan.rest)]

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


@total_ordering
class _Top:
    """Sorts after every value: the upper bound of a key prefix."""

    def __lt__(self, other: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Top)

    def __hash__(self) -> int:
        return 0


TOP = _Top()


@dataclass(frozen=True)
class IndexPlan:
    """How an ordered index answers one query: its columns (equality columns, then the ordering), the
    equality values fixing the key prefix, the range terms on the leading ordering column, and the rest."""

    columns: tuple[str, ...]
    prefix: tuple[str, ...]
    ranges: tuple[tuple[str, str], ...]
    rest: tuple[tuple[Term, ...], ...]

    @staticmethod
    def of(query: ParsedQuery) -> IndexPlan | None:
        """A plan when the query is one AND-group ordered ascending by local text columns; else None (the
        scan-and-sort path, which evaluates every operator, dot-walk and OR exactly)."""
        if len(query.groups) > 1 or not query.order:
            return None
        order: list[str] = []
        for path, desc in query.order:
            if desc or len(path.steps) > 1 or path.last.numeric:
                return None
            if path.last.name not in order:
                order.append(path.last.name)
        equal: dict[str, str] = {}
        ranges: list[tuple[str, str]] = []
        rest: list[tuple[Term, ...]] = []
        for clause in query.groups[0] if query.groups else []:
            name = _local_text(clause)
            term = clause[0]
            if name is not None and term.op == "=" and name not in order and name not in equal:
                equal[name] = term.values[0]
            elif name == order[0] and term.op in RANGE_OPERATORS:
                ranges.append((term.op, term.values[0]))
            else:
                rest.append(tuple(clause))
        return IndexPlan(tuple(equal) + tuple(order), tuple(equal.values()), tuple(ranges), tuple(rest))


def _local_text(clause: list[Term]) -> str | None:
    """The column of a one-term clause comparing a local text column with one literal value, else None."""
    if len(clause) != 1:
        return None
    term = clause[0]
    if len(term.path.steps) > 1 or term.path.last.numeric or term.other is not None or term.check is not None:
        return None
    return term.path.last.name if len(term.values) == 1 else None


@dataclass(frozen=True)
class OrderedIndex:
    """The rows' sys_ids sorted by the values of some columns, ties in insertion order (as the stable sort of
    the scan path leaves them); empty values first, as text sorts them and SQL sorts NULLs."""

    version: int
    keys: list[tuple[object, ...]]
    ids: list[str]

    @staticmethod
    def build(columns: Sequence[str], rows: dict[str, Row], order: dict[str, int], version: int) -> OrderedIndex:
        keyed = sorted((*(row.get(c, "") for c in columns), order[sys_id], sys_id) for sys_id, row in rows.items())
        return OrderedIndex(version, [k[:-1] for k in keyed], [k[-1] for k in keyed])  # type: ignore[misc]

    def window(self, prefix: tuple[str, ...], ranges: Sequence[tuple[str, str]]) -> tuple[int, int]:
        """[start, end) of the rows whose key starts with ``prefix`` and whose next column satisfies every
        range term (a comparison never matches an empty value or operand; ``=`` matches exactly)."""
        keys = self.keys
        start, end = bisect_left(keys, prefix), bisect_left(keys, (*prefix, TOP))
        for op, value in ranges:
            if value == "" and op != "=":
                return start, start  # a comparison with an empty operand matches nothing
            if op != "=":
                start = max(start, bisect_left(keys, (*prefix, "", TOP)))  # past the empty values
            if op in ("=", ">="):
                start = max(start, bisect_left(keys, (*prefix, value)))
            elif op == ">":
                start = max(start, bisect_left(keys, (*prefix, value, TOP)))
            if op in ("=", "<="):
                end = min(end, bisect_left(keys, (*prefix, value, TOP)))
            elif op == "<":
                end = min(end, bisect_left(keys, (*prefix, value)))
        return start, max(start, end)


def _discard(index: dict[str, set[str]], value: str, sys_id: str) -> None:
    """Remove one sys_id from an equality index bucket, dropping empty buckets."""
    bucket = index.get(value)
    if bucket is not None:
        bucket.discard(sys_id)
        if not bucket:
            del index[value]
