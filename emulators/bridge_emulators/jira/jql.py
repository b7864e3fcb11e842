"""JQL evaluation: a parsed query -> a predicate over issues and a sort, with Jira's validation errors.

Supported (https://support.atlassian.com/jira-service-management-cloud/docs/jql-fields/ and
.../jql-operators/): fields project, key/issuekey, summary, description, comment, text, status,
statusCategory, priority, labels, resolution, created, updated, resolutiondate/resolved, reporter and the
text custom fields (by id ``customfield_10050``, ``cf[10050]`` or name ``"External Ref"``). As in Jira, text
fields take only ``~ !~ IS IS NOT`` (``=`` is refused), unknown fields/values/projects are 400s, ``!=`` and
``NOT IN`` never match an empty value, dates take ``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd``,
``yyyy-MM-dd``, periods (``-5d``, ``-1w 2d``, ``-30m``) and ``now()``, read in the user's time zone.
Text search (https://support.atlassian.com/jira-software-cloud/docs/search-syntax-for-text-fields/) is by
words: every term must occur, ``"quoted phrases"`` must occur in sequence, ``*``/``?`` are wildcards, a
backslash escapes a special character, and other punctuation separates words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from .errors import BadRequest
from .jql_parse import Clause, Node, Value, parse
from .model import PRIORITIES, RESOLUTIONS, STATUS_CATEGORIES, STATUSES, CustomField, Issue, User

Predicate = Callable[[Issue], bool]
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_EQUALITY = {"=", "!=", "in", "not in", "is", "is not"}
_OPERATORS: dict[str, set[str]] = {
    "text": {"~", "!~", "is", "is not"},
    "date": _EQUALITY | {">", ">=", "<", "<="},
    "key": _EQUALITY | {">", ">=", "<", "<="},
}


@dataclass(frozen=True)
class Context:
    """What a query is evaluated against: the site's projects and fields, the user's zone, the time."""

    projects: frozenset[str]
    custom_fields: tuple[CustomField, ...]
    zone: tzinfo
    now: datetime
    user: User | None
    users: tuple[User, ...]
    has_key: Callable[[str], bool]


@dataclass(frozen=True)
class Field:
    """A searchable field: its name in messages, its kind, and how to read it from an issue."""

    name: str
    kind: str
    get: Callable[[Issue], Any]


def _text_of(issue: Issue) -> str:
    parts = [issue.summary, issue.description or "", *(c.body for c in issue.comments)]
    return "\n".join([*parts, *(str(v) for v in issue.custom.values() if v)])


_SYSTEM: dict[str, Field] = {
    "project": Field("project", "project", lambda i: i.project.lower()),
    "key": Field("key", "key", lambda i: (i.project, i.number)),
    "summary": Field("summary", "text", lambda i: i.summary),
    "description": Field("description", "text", lambda i: i.description),
    "comment": Field("comment", "text", lambda i: "\n".join(c.body for c in i.comments) or None),
    "text": Field("text", "text", _text_of),
    "status": Field("status", "status", lambda i: i.status.name.lower()),
    "statuscategory": Field("statusCategory", "category", lambda i: i.status.category),
    "priority": Field("priority", "priority", lambda i: i.priority.lower()),
    "labels": Field("labels", "labels", lambda i: list(i.labels)),
    "resolution": Field("resolution", "resolution", lambda i: i.resolution.lower() if i.resolution else None),
    "created": Field("created", "date", lambda i: i.created),
    "updated": Field("updated", "date", lambda i: i.updated),
    "resolutiondate": Field("resolutiondate", "date", lambda i: i.resolution_date),
    "reporter": Field("reporter", "user", lambda i: i.reporter.account_id),
}
_ALIASES = {
    "issuekey": "key",
    "issue": "key",
    "createddate": "created",
    "updateddate": "updated",
    "resolved": "resolutiondate",
    "category": "statuscategory",
}


def field_named(name: str, ctx: Context) -> Field:
    """A field by name, alias, custom field id or custom field name; 400 if there is none."""
    lowered = name.strip().lower()
    found = _SYSTEM.get(_ALIASES.get(lowered, lowered))
    if found is not None:
        return found
    for custom in ctx.custom_fields:
        if lowered in (custom.id, custom.name.lower()):
            return Field(custom.name, "text", functools.partial(_custom_value, custom.id))
    raise BadRequest(f"Field '{name}' does not exist or you do not have permission to view it.")


def _custom_value(field_id: str, issue: Issue) -> Any:
    return issue.custom.get(field_id)


def compile_query(text: str, ctx: Context) -> tuple[Predicate | None, Callable[[list[Issue]], list[Issue]]]:
    """(predicate or None when unbounded, sorter) for a JQL string."""
    query = parse(text)
    predicate = _node(query.where, ctx) if query.where is not None else None
    keys = [(field_named(name, ctx), descending) for name, descending in query.order]
    return predicate, lambda issues: _sorted(issues, keys)


def _node(node: Node, ctx: Context) -> Predicate:
    if isinstance(node, Clause):
        return _clause(node, ctx)
    parts = [_node(child, ctx) for child in node.children]
    if node.op == "not":
        return lambda issue: not parts[0](issue)
    if node.op == "and":
        return lambda issue: all(p(issue) for p in parts)
    return lambda issue: any(p(issue) for p in parts)


def _clause(clause: Clause, ctx: Context) -> Predicate:
    spec = field_named(clause.field, ctx)
    op = clause.op
    values = clause.values
    if op in ("=", "!=") and values and values[0].function == "empty":
        op = "is" if op == "=" else "is not"
    if op not in _OPERATORS.get(spec.kind, _EQUALITY):
        raise BadRequest(f"The operator '{op.upper()}' is not supported by the '{spec.name}' field.")
    if op in ("is", "is not"):
        return lambda issue: _empty(spec.get(issue)) == (op == "is")
    if op in ("~", "!~"):
        query = values[0].text
        return lambda issue: _text_matches(spec.get(issue), query) == (op == "~")
    operands = [_operand(spec, v, ctx, op) for v in values]
    return _comparison(spec, op, operands)


def _comparison(spec: Field, op: str, operands: list[Any]) -> Predicate:
    def matches(issue: Issue) -> bool:
        value = spec.get(issue)
        if _empty(value):
            return op in ("=", "in") and None in operands  # resolution = Unresolved
        if op in ("=", "in"):
            return _any_equal(value, operands)
        if op in ("!=", "not in"):
            return not _any_equal(value, operands)
        return _compare(value, op, operands[0])

    return matches


def _any_equal(value: Any, operands: list[Any]) -> bool:
    if isinstance(value, list):
        return any(v in operands for v in value)
    return value in operands


def _compare(value: Any, op: str, operand: Any) -> bool:
    if op == ">":
        return bool(value > operand)
    if op == ">=":
        return bool(value >= operand)
    if op == "<":
        return bool(value < operand)
    return bool(value <= operand)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _operand(spec: Field, value: Value, ctx: Context, op: str) -> Any:
    """A clause value converted to what the field's getter returns; unknown values are 400s like Jira's."""
    if value.function not in (None, "now", "currentuser"):
        raise BadRequest(f"Unable to find JQL function '{value.text}()'.")
    text = value.text.strip()
    kind = spec.kind
    if kind == "date":
        return _date(value, spec, ctx)
    if kind == "user":
        return _user(value, spec, ctx)
    if kind == "key":
        return _key(text, ctx, check=op in ("=", "in"))
    if kind == "labels":
        return text
    return _named(kind, spec, text, ctx)


def _named(kind: str, spec: Field, text: str, ctx: Context) -> Any:
    lowered = text.lower()
    known: dict[str, Iterable[str]] = {
        "project": {p.lower() for p in ctx.projects} | {"10000"},
        "status": {s.name.lower() for s in STATUSES} | {s.id for s in STATUSES},
        "category": set(STATUS_CATEGORIES) | {v[1].lower() for v in STATUS_CATEGORIES.values()},
        "priority": {p.lower() for p in PRIORITIES},
        "resolution": {r.lower() for r in RESOLUTIONS} | {"unresolved"},
    }
    if lowered not in known.get(kind, {lowered}):
        raise BadRequest(f"The value '{text}' does not exist for the field '{spec.name}'.")
    if kind == "project":
        return next(iter(ctx.projects)).lower() if lowered == "10000" else lowered
    if kind == "status":
        return next((s.name.lower() for s in STATUSES if lowered in (s.id, s.name.lower())), lowered)
    if kind == "category":
        return next((k for k, v in STATUS_CATEGORIES.items() if lowered in (k, v[1].lower())), lowered)
    return None if lowered == "unresolved" else lowered


def _key(text: str, ctx: Context, *, check: bool) -> tuple[str, int]:
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", text)
    if match is None or (check and not ctx.has_key(text.upper())):
        raise BadRequest(f"An issue with key '{text}' does not exist for field 'key'.")
    return match.group(1).upper(), int(match.group(2))


def _user(value: Value, spec: Field, ctx: Context) -> str:
    """An account id, from ``currentUser()``, an account id or an email address."""
    if value.function == "currentuser" and ctx.user is not None:
        return ctx.user.account_id
    wanted = value.text.strip().lower()
    found = next((u for u in ctx.users if wanted in (u.account_id.lower(), u.email.lower())), None)
    if found is None:
        raise BadRequest(f"The value '{value.text}' does not exist for the field '{spec.name}'.")
    return found.account_id


def _date(value: Value, spec: Field, ctx: Context) -> datetime:
    """A JQL date value: absolute (in the user's zone), a period from now, or now()."""
    if value.function == "now":
        return ctx.now
    text = value.text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ctx.zone)
        except ValueError:
            continue
    period = _PERIOD.match(text)
    if period is None:
        raise BadRequest(
            f"Date value '{text}' for field '{spec.name}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        )
    total = sum(
        (int(n) * _UNITS[u.lower()] for n, u in re.findall(r"(\d+)\s*([wdhm])", period.group(2), re.I)), timedelta()
    )
    return ctx.now - total if period.group(1) == "-" else ctx.now + total


# -- text search ------------------------------------------------------------------------------------

_WORD = re.compile(r"[0-9a-z]+")


def _text_matches(document: Any, query: str) -> bool:
    """Whether every term and phrase of a text query occurs in the document's words."""
    if _empty(document):
        return False
    words = _WORD.findall(str(document).lower())
    terms = _terms(query)
    return bool(terms) and all(_has_sequence(words, term) for term in terms)


def _terms(query: str) -> list[list[str]]:
    """The query's terms, each a sequence of word patterns (a phrase or a punctuated term is several)."""
    terms: list[list[str]] = []
    current: list[str] = []
    in_phrase = False
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            current.append("\x00" + query[i + 1])
            i += 2
            continue
        if ch == '"' or (ch.isspace() and not in_phrase):
            terms += _flush(current)
            current = []
            in_phrase = not in_phrase if ch == '"' else in_phrase
        else:
            current.append(ch)
        i += 1
    terms += _flush(current)
    return [t for t in terms if t]


def _flush(chars: list[str]) -> list[list[str]]:
    """Characters of one term -> its word patterns (escaped characters are literal, so they separate)."""
    text = "".join(" " if c.startswith("\x00") else c for c in chars).lower()
    words = re.findall(r"[0-9a-z*?]+", text)
    patterns = [w for w in words if w.strip("*?")]
    return [patterns] if patterns else []


def _has_sequence(words: list[str], patterns: list[str]) -> bool:
    regexes = [re.compile(re.escape(p).replace(r"\*", "[0-9a-z]*").replace(r"\?", "[0-9a-z]")) for p in patterns]
    span = len(regexes)
    return any(
        all(r.fullmatch(words[start + k]) for k, r in enumerate(regexes)) for start in range(len(words) - span + 1)
    )


# -- ORDER BY -----------------------------------------------------------------------------------------


def _sorted(issues: list[Issue], keys: list[tuple[Field, bool]]) -> list[Issue]:
    """Sort by each ORDER BY key (stable sorts, last key first); empty values sort last, as in Jira."""
    result = sorted(issues, key=lambda i: (i.project, i.number), reverse=not keys)
    for spec, descending in reversed(keys):
        present = [i for i in result if not _empty(spec.get(i))]
        missing = [i for i in result if _empty(spec.get(i))]
        present.sort(key=functools.partial(_sort_value, spec), reverse=descending)
        result = present + missing
    return result


def _sort_value(spec: Field, issue: Issue) -> Any:
    value = spec.get(issue)
    if spec.kind == "priority":
        return int(PRIORITIES[issue.priority])
    if isinstance(value, list):
        return ",".join(sorted(value))
    return value.lower() if isinstance(value, str) else value
