"""Encoded queries (``sysparm_query``): parsing and evaluation (ordering lives in :mod:`.paths`).

Operators follow ServiceNowDocs ``markdown/platform-user-interface/r_OpAvailableFiltersQueries.md`` and the
``sysparm_query`` section of ``markdown/api-reference/rest-apis/c_TableAPI.md``. The platform's traps are
kept on purpose:

* a term naming a field the table does not have is dropped, so a misspelt field matches every record;
* the negative operators (``!=``, ``NOT IN``, ``NOTLIKE``) also match empty values ("active!=true: False,
  empty, or NULL");
* comparisons (``<``, ``>``, ``BETWEEN``) never match an empty value, as SQL NULLs do not.

``=``/``!=``/``IN`` compare case-sensitively as the Table API docs state; the LIKE family ignores case as the
operators page shows (``subcategoryLIKEem`` finds "Email").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .dates import resolve_value
from .paths import FieldPath, Resolver, Row, as_number, resolve_path
from .schema import TableSchema

# Longest first, so ISNOTEMPTY wins over IN and NOT LIKE over NOT IN's prefix.
OPERATORS: tuple[str, ...] = (
    "ISNOTEMPTY",
    "EMPTYSTRING",
    "STARTSWITH",
    "NOT LIKE",
    "ISEMPTY",
    "NOTLIKE",
    "ENDSWITH",
    "ANYTHING",
    "NSAMEAS",
    "BETWEEN",
    "NOT IN",
    "SAMEAS",
    "NOTIN",
    "LIKE",
    "!=",
    ">=",
    "<=",
    "IN",
    "=",
    ">",
    "<",
)
NEGATIVE = frozenset({"!=", "NOT IN", "NOTIN", "NOTLIKE", "NOT LIKE"})


@dataclass
class ParsedQuery:
    """An OR of groups (``^NQ``), each an AND of clauses, each an OR of terms; plus the ordering."""

    groups: list[list[list[Term]]] = field(default_factory=list)
    order: list[tuple[FieldPath, bool]] = field(default_factory=list)
    cacheable: bool = True

    def matches(self, row: Row, resolve: Resolver) -> bool:
        """Whether the row satisfies the query (an empty query matches everything)."""
        if not self.groups:
            return True
        return any(all(any(t.test(row, resolve) for t in clause) for clause in g) for g in self.groups)


@dataclass(frozen=True)
class Term:
    """One condition: a field path, an operator and its operand(s)."""

    path: FieldPath
    op: str
    values: tuple[str, ...]
    other: FieldPath | None = None

    def test(self, row: Row, resolve: Resolver) -> bool:
        """Evaluate the condition on one row."""
        actual = self.path.value(row, resolve)
        operand = self.other.value(row, resolve) if self.other else None
        return _evaluate(self.op, actual, self.values, operand, self.path.last.numeric)

    @property
    def plain_field(self) -> str | None:
        """The column name when this is an equality on a local column (usable with an index)."""
        if self.op == "=" and len(self.path.steps) == 1 and self.other is None:
            return self.path.last.name
        return None


def _compare(actual: str, operand: str, numeric: bool) -> int | None:
    """-1/0/1 comparing two values (numbers when the field is numeric and both parse); None if empty."""
    if actual == "" or operand == "":
        return None
    if numeric:
        a, b = as_number(actual), as_number(operand)
        if a is not None and b is not None:
            return (a > b) - (a < b)
    return (actual > operand) - (actual < operand)


def _evaluate(op: str, actual: str, values: tuple[str, ...], operand: str | None, numeric: bool) -> bool:
    """The truth of ``actual <op> values`` with the platform's empty-value rules."""
    if op in ("ISEMPTY", "EMPTYSTRING"):
        return actual == ""
    if op == "ISNOTEMPTY":
        return actual != ""
    if op == "ANYTHING":
        return True
    if op in ("SAMEAS", "NSAMEAS"):
        return (actual == (operand or "")) == (op == "SAMEAS")
    if op in NEGATIVE and actual == "":
        return True
    value = values[0] if values else ""
    if op in ("=", "!="):
        equal = actual == value or (numeric and _compare(actual, value, True) == 0)
        return equal == (op == "=")
    if op in ("IN", "NOT IN", "NOTIN"):
        return (actual in values) == (op == "IN")
    if op in ("LIKE", "NOTLIKE", "NOT LIKE"):
        return (value.casefold() in actual.casefold()) == (op == "LIKE")
    if op == "STARTSWITH":
        return actual.casefold().startswith(value.casefold())
    if op == "ENDSWITH":
        return actual.casefold().endswith(value.casefold())
    if op == "BETWEEN":
        low, high = (*values, "", "")[:2]
        lo, hi = _compare(actual, low, numeric), _compare(actual, high, numeric)
        return lo is not None and hi is not None and lo >= 0 and hi <= 0
    result = _compare(actual, value, numeric)
    if result is None:
        return False
    return {">": result > 0, ">=": result >= 0, "<": result < 0, "<=": result <= 0}.get(op, False)


def split_terms(query: str) -> list[str]:
    """Split on ``^`` while keeping ``^^`` (the escape for a literal caret)."""
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "^" and query[i + 1 : i + 2] == "^":
            buf.append("^")
            i += 2
            continue
        if ch == "^":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p for p in parts if p]


def _split_term(text: str) -> tuple[str, str, str] | None:
    """Find the first operator in ``text``: (field, operator, operand), or None."""
    for pos in range(1, len(text)):
        for op in OPERATORS:
            if text.startswith(op, pos):
                return text[:pos], op, text[pos + len(op) :]
    return None


@dataclass
class QueryParser:
    """Parses encoded queries against one table, with the context ``javascript:`` values need."""

    schema: TableSchema
    schemas: Mapping[str, TableSchema]
    user_sys_id: str = ""
    now: float | None = None

    def parse(self, query: str) -> ParsedQuery:
        """Parse a whole ``sysparm_query``."""
        parsed = ParsedQuery()
        group: list[list[Term]] = []
        for part in split_terms(query or ""):
            if part.startswith("NQ"):
                if group:
                    parsed.groups.append(group)
                group = []
                part = part[2:]
                if not part:
                    continue
            self._add(part, group, parsed)
        if group:
            parsed.groups.append(group)
        return parsed

    def _add(self, part: str, group: list[list[Term]], parsed: ParsedQuery) -> None:
        """Add one ``^``-separated piece: an ordering, an OR term, or an AND term."""
        if part.startswith("ORDERBY"):
            desc = part.startswith("ORDERBYDESC")
            path = resolve_path(part[11 if desc else 7 :], self.schema, self.schemas)
            if path is not None:
                parsed.order.append((path, desc))
            return
        if part in ("EQ", "NULL") or part.startswith("RLQUERY"):
            return
        if part.startswith("OR") and group:
            term = self._term(part[2:], parsed)
            if term is not None:
                group[-1].append(term)
                return
        term = self._term(part, parsed)
        if term is not None:
            group.append([term])

    def _term(self, text: str, parsed: ParsedQuery) -> Term | None:
        """Parse one condition; None (ignored) when its field is unknown or it has no operator."""
        split = _split_term(text)
        if split is None:
            return None
        name, op, raw = split
        path = resolve_path(name, self.schema, self.schemas)
        if path is None:
            return None
        if len(path.steps) > 1:
            parsed.cacheable = False
        other = None
        if op in ("SAMEAS", "NSAMEAS"):
            other = resolve_path(raw.split("@")[0], self.schema, self.schemas)
            if other is None:
                return None
        values = self._values(op, raw, parsed)
        return Term(path, op, values, other)

    def _values(self, op: str, raw: str, parsed: ParsedQuery) -> tuple[str, ...]:
        """The operand list: comma-separated for IN, ``a@b`` for BETWEEN, one value otherwise."""
        if op in ("IN", "NOT IN", "NOTIN"):
            items: Sequence[str] = raw.split(",")
        elif op == "BETWEEN":
            items = raw.split("@")[:2]
        else:
            items = [raw]
        resolved = []
        for item in items:
            value, dynamic = resolve_value(item, user_sys_id=self.user_sys_id, now=self.now)
            parsed.cacheable = parsed.cacheable and not dynamic
            resolved.append(value)
        return tuple(resolved)
