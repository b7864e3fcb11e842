"""Encoded-query pieces that are more than a comparison: date operators (:mod:`.query_dates`), ``DYNAMIC``,
the keyword search ``123TEXTQUERY321``, and the sub-queries ``JOIN`` and ``RLQUERY``.

* ``JOINincident.sys_id=sys_journal_field.element_id!element=comments``: records with at least one row of the
  other table whose field equals this record's field, where that row meets the condition after ``!`` (one
  term; the platform's ``addJoinQuery`` writes it so). ServiceNow community: "Undocumented encoded JOIN query".
* ``RLQUERYsys_attachment.table_sys_id,>=1^content_type=text/plain^ENDRLQUERY``: records referenced by a number
  of rows of the related table (``=N >N >=N <N <=N``) that meet the sub-query; ``,m2m`` is accepted.
* ``DYNAMIC90d1921e5f510100a9ad2572f2b477fe`` is the "Me" dynamic filter option (the calling user); the emulator
  has no other dynamic filter options, so any other is refused.
* ``123TEXTQUERY321=words``: every word occurs in one of the record's string fields (no stemming).

Anything the emulator cannot evaluate exactly is a 400 ("Invalid query"), never every record.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import query as q
from . import query_dates as qd
from .paths import FieldPath, Resolver, Row, resolve_path
from .schema import STRING

if TYPE_CHECKING:
    from .query import QueryParser

invalid = qd.invalid
#: operators of business rule conditions, which a query cannot use
CONDITION_ONLY = frozenset({"VALCHANGES", "CHANGESFROM", "CHANGESTO"})
#: the dynamic filter option "Me" (the calling user), the one DYNAMIC value the emulator knows
DYNAMIC_ME = "90d1921e5f510100a9ad2572f2b477fe"
TEXT_QUERY = "123TEXTQUERY321"
OPERATORS = frozenset(
    {"ON", "NOTON", "DATEPART", "MORETHAN", "LESSTHAN", "DYNAMIC", *CONDITION_ONLY}
    | {f"RELATIVE{k}" for k in ("GT", "LT", "GE", "LE", "EE")}
)
#: their result depends on the time or the user, so it is never cached
DYNAMIC_OPERATORS = OPERATORS
_JOIN = re.compile(r"^JOIN(\w+)\.(\w+)=(\w+)\.(\w+)!(.*)$")
_RL = re.compile(r"^RLQUERY(\w+)\.(\w+),(=|!=|>=|<=|>|<)(\d+)(,m2m)?$")
_COUNT: dict[str, Callable[[int, int], bool]] = {
    "=": int.__eq__,
    "!=": int.__ne__,
    ">": int.__gt__,
    ">=": int.__ge__,
    "<": int.__lt__,
    "<=": int.__le__,
}


def term(parser: QueryParser, path: FieldPath, op: str, raw: str) -> q.Term:
    """A term whose operator is one of :data:`OPERATORS`."""
    if op in CONDITION_ONLY:
        raise invalid(f"{op} belongs to business rule conditions; a query cannot use it")
    if op == "DYNAMIC":
        if raw != DYNAMIC_ME:
            raise invalid(f"the emulator has no dynamic filter option {raw!r} (only 'Me', {DYNAMIC_ME})")
        return q.Term(path, "=", (parser.user_sys_id,))
    if op == "MORETHAN" or op == "LESSTHAN":
        name, test = qd.interval(op, raw)
        other = resolve_path(name, parser.schema, parser.schemas)
        if other is None:
            raise invalid(f"{op}: no field {name!r}")
        return _checked(path, op, lambda row, resolve: test(path.value(row, resolve), other.value(row, resolve)))
    return _checked(path, op, _date_check(parser, path, op, raw))


def _date_check(parser: QueryParser, path: FieldPath, op: str, raw: str) -> Callable[[Row, Resolver], bool]:
    now = datetime.fromtimestamp(time.time() if parser.now is None else parser.now, UTC)
    if op in ("ON", "NOTON"):
        start, end = qd.on_range(raw, user_sys_id=parser.user_sys_id, now=parser.now)
        inside = op == "ON"
        return lambda row, resolve: _between(path.value(row, resolve), start, end) == inside
    test = qd.datepart(raw) if op == "DATEPART" else qd.relative(op, raw, now)
    return lambda row, resolve: test(path.value(row, resolve))


def _between(value: str, start: str, end: str) -> bool:
    return value != "" and start <= value <= end


def _checked(path: FieldPath, op: str, check: Callable[[Row, Resolver], bool]) -> q.Term:
    return q.Term(path, op, (), check=check)


def text_query(parser: QueryParser, text: str) -> q.Term:
    """``123TEXTQUERY321=words``: every word in some string field of the record."""
    words = text.removeprefix(TEXT_QUERY).lstrip("=").casefold().split()
    if not words:
        raise invalid("123TEXTQUERY321 needs words to search for")
    names = [n for n, f in parser.schema.fields.items() if f.kind == STRING]
    path = resolve_path("sys_id", parser.schema, parser.schemas)
    assert path is not None

    def check(row: Row, resolve: Resolver) -> bool:
        document = " ".join(row.get(n, "") for n in names).casefold()
        return all(w in document for w in words)

    return _checked(path, TEXT_QUERY, check)


def join(parser: QueryParser, part: str) -> q.Term:
    """``JOIN<table>.<field>=<other>.<other_field>!<condition>``."""
    found = _JOIN.match(part)
    if found is None:
        raise invalid(f"JOIN needs '<table>.<field>=<other table>.<field>!<condition>', not {part!r}")
    table, field, other, other_field, condition = found.groups()
    if table != parser.schema.name:
        raise invalid(f"JOIN names {table!r} but the query is on {parser.schema.name!r}")
    path = resolve_path(field, parser.schema, parser.schemas)
    if path is None or other not in parser.schemas or not parser.schemas[other].has(other_field):
        raise invalid(f"JOIN: no field {field!r} here or {other}.{other_field}")
    matched = {r.get(other_field, "") for r in _select(parser, other, condition)}
    return _checked(path, "JOIN", lambda row, resolve: path.value(row, resolve) in matched)


def related_list(parser: QueryParser, head: str, sub_query: str) -> q.Term:
    """``RLQUERY<related table>.<reference field>,<op><n>[,m2m]`` with its sub-query."""
    found = _RL.match(head)
    if found is None:
        raise invalid(f"RLQUERY needs '<table>.<field>,<op><n>', not {head!r}")
    other, field, op, count, _ = found.groups()
    if other not in parser.schemas or not parser.schemas[other].has(field):
        raise invalid(f"RLQUERY: no field {other}.{field}")
    counts = Counter(r.get(field, "") for r in _select(parser, other, sub_query))
    wanted, compare = int(count), _COUNT[op]
    path = resolve_path("sys_id", parser.schema, parser.schemas)
    assert path is not None
    return _checked(path, "RLQUERY", lambda row, resolve: compare(counts[row.get("sys_id", "")], wanted))


def _select(parser: QueryParser, table: str, query: str) -> list[Row]:
    if parser.select is None:
        raise invalid("sub-queries need the instance's data")
    return parser.select(table, query)
