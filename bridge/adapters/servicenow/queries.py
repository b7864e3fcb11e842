"""Encoded queries built only from checked parts, so a value can never change what a query means.

Other bridges lost data here: an empty key matched every record, a value carrying ``^NQ`` added a second
query, a misspelt field was dropped by the platform (which then matched everything). So:

* table and field names must be lower-case identifiers (dot-walks allowed), which also keeps them from
  starting with the ``OR`` / ``NQ`` / ``ORDERBY`` keywords;
* a value must be non-empty, single-line, and free of ``^``. The caret is REJECTED, not escaped: the
  ServiceNow documentation describes no escape for it (``^`` always separates conditions, and a doubled
  ``^^`` is not documented as a literal caret), so any escaping would be a guess about the platform;
* a value starting with ``javascript:`` is rejected: the instance would evaluate it as a script;
* unknown fields are caught separately, against the table's dictionary (see :mod:`.schema`).

Every rejection is an :class:`UnsafeQueryError`, raised before any HTTP call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from bridge.errors import PermanentError

_TABLE = re.compile(r"[a-z][a-z0-9_]{0,79}")
_FIELD = re.compile(r"[a-z][a-z0-9_]{0,79}(?:\.[a-z][a-z0-9_]{0,79}){0,3}")
_SYS_ID = re.compile(r"[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"


class UnsafeQueryError(PermanentError, ValueError):
    """A query the adapter refuses to send: retrying cannot help, and it is a caller's mistake."""


def table_name(value: object) -> str:
    """A table name, or UnsafeQueryError."""
    if not isinstance(value, str) or not _TABLE.fullmatch(value):
        raise UnsafeQueryError(f"invalid table name {value!r}")
    return value


def field_name(value: object) -> str:
    """A field name (``caller_id.email`` dot-walks allowed), or UnsafeQueryError."""
    if not isinstance(value, str) or not _FIELD.fullmatch(value):
        raise UnsafeQueryError(f"invalid field name {value!r}")
    return value


def sys_id(value: object) -> str:
    """A record sys_id (32 lower-case hex digits), or UnsafeQueryError: never an empty path segment."""
    if not isinstance(value, str) or not _SYS_ID.fullmatch(value):
        raise UnsafeQueryError(f"invalid sys_id {value!r}")
    return value


def query_value(value: object, *, field: str) -> str:
    """A value safe to place after ``=`` in an encoded query, or UnsafeQueryError."""
    if not isinstance(value, str) or not value.strip():
        raise UnsafeQueryError(f"empty value for {field}: an empty key would match every record")
    if "^" in value:
        raise UnsafeQueryError(f"value for {field} contains '^', which cannot be escaped in an encoded query")
    if _CONTROL.search(value):
        raise UnsafeQueryError(f"value for {field} contains a control character")
    if value.lstrip().lower().startswith("javascript:"):
        raise UnsafeQueryError(f"value for {field} would run as a script on the instance")
    return value


def equalities(conditions: Mapping[str, str]) -> str:
    """``a=x^b=y`` from checked names and values; an empty mapping is refused (it would match all)."""
    if not conditions:
        raise UnsafeQueryError("no conditions: a query without a key would match every record")
    return "^".join(f"{field_name(k)}={query_value(v, field=k)}" for k, v in conditions.items())


def order_by(fields: Sequence[str]) -> str:
    """``ORDERBYa^ORDERBYDESCb`` from ``["a", "-b"]``."""
    terms = []
    for name in fields:
        desc = name.startswith("-")
        terms.append(("ORDERBYDESC" if desc else "ORDERBY") + field_name(name.removeprefix("-")))
    return "^".join(terms)


def join(*parts: str) -> str:
    """Encoded-query parts joined with ``^``, empty parts left out."""
    return "^".join(p for p in parts if p)


def field_list(fields: Iterable[str] | None, *, required: Iterable[str] = ()) -> list[str]:
    """Checked ``sysparm_fields`` names plus the ones the adapter itself needs; [] means all fields."""
    if fields is None:
        return []
    names = [field_name(f) for f in fields]
    return names + [r for r in required if r not in names]


def top_level(fields: Iterable[str]) -> set[str]:
    """The table's own columns named by possibly dot-walked field names."""
    return {f.removeprefix("-").split(".", 1)[0] for f in fields}


def glide_datetime(moment: datetime) -> str:
    """An aware datetime as the platform's UTC ``YYYY-MM-DD HH:MM:SS`` (what display_value=false returns)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UnsafeQueryError("naive datetime: give a timezone so the instant is unambiguous")
    return moment.astimezone(UTC).strftime(GLIDE_FORMAT)
