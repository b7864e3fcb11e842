"""The date operators of encoded queries, as the list filter writes them (ServiceNowDocs
``markdown/platform-user-interface/r_OpAvailableFiltersQueries.md``, date-time operators):

* ``ON`` / ``NOTON``: ``sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()``
  (a label, then the start and end of the range);
* ``RELATIVEGT`` ``RELATIVELT`` ``RELATIVEGE`` ``RELATIVELE`` ``RELATIVEEE``: ``@hour@ago@3`` (units minute, hour,
  day/dayofweek, week, month, quarter, year; ``ago`` or ``ahead``): later/earlier than that moment, or within that
  unit (``EE``);
* ``DATEPART``: ``Monday@javascript:gs.datePart('dayofweek','monday','EE')`` (parts dayofweek, month, year, hour,
  with EE GT LT GE LE);
* ``MORETHAN`` / ``LESSTHAN``: ``sys_updated_onMORETHANsys_created_on@hour@after@2`` (one date field more / less
  than an interval after or before another).

Every date is a Glide UTC string; anything the emulator does not know is a BadRequest, never a match-all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .dates import GLIDE_FORMAT, resolve_value
from .errors import BadRequest

UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "dayofweek": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
    "quarter": timedelta(days=91),
    "year": timedelta(days=365),
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
_DATEPART = re.compile(r"javascript:gs\.datePart\('(\w+)',\s*'(\w+)',\s*'(EE|GT|LT|GE|LE|NE)'\)")
DateTest = Callable[[str], bool]


def invalid(detail: str) -> BadRequest:
    """The emulator's refusal of a query it cannot evaluate exactly."""
    return BadRequest("Invalid query", detail)


def parse_glide(value: str) -> datetime | None:
    """A stored Glide UTC date-time, or None when empty or not a date."""
    try:
        return datetime.strptime(value, GLIDE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def on_range(raw: str, *, user_sys_id: str, now: float | None) -> tuple[str, str]:
    """``Label@start@end`` of ON / NOTON as two Glide strings."""
    parts = raw.split("@")
    if len(parts) != 3:
        raise invalid(f"ON needs 'label@start@end', not {raw!r}")
    start, _ = resolve_value(parts[1], user_sys_id=user_sys_id, now=now)
    end, _ = resolve_value(parts[2], user_sys_id=user_sys_id, now=now)
    if parse_glide(start) is None or parse_glide(end) is None:
        raise invalid(f"ON range {raw!r} does not give two dates")
    return start, end


def relative(op: str, raw: str, now: datetime) -> DateTest:
    """RELATIVExx ``@unit@ago|ahead@n``: a test of a stored date."""
    parts = raw.strip("@").split("@")
    if len(parts) != 3 or parts[0] not in UNITS or parts[1] not in ("ago", "ahead") or not parts[2].isdigit():
        raise invalid(f"{op} needs '@unit@ago|ahead@n' with a unit of {', '.join(UNITS)}, not {raw!r}")
    step = UNITS[parts[0]] * int(parts[2])
    moment = now - step if parts[1] == "ago" else now + step
    kind = op.removeprefix("RELATIVE")
    if kind == "EE":
        low, high = moment - UNITS[parts[0]] / 2, moment + UNITS[parts[0]] / 2
        return lambda value: _within(value, low, high)
    mark = moment.strftime(GLIDE_FORMAT)
    compare = {"GT": str.__gt__, "LT": str.__lt__, "GE": str.__ge__, "LE": str.__le__}[kind]
    return lambda value: value != "" and bool(compare(value, mark))


def _within(value: str, low: datetime, high: datetime) -> bool:
    moment = parse_glide(value)
    return moment is not None and low <= moment < high


def datepart(raw: str) -> DateTest:
    """DATEPART ``label@javascript:gs.datePart('part','value','op')``."""
    found = _DATEPART.search(raw)
    if found is None:
        raise invalid(f"DATEPART needs javascript:gs.datePart('part','value','op'), not {raw!r}")
    part, wanted, op = found.group(1).lower(), found.group(2).lower(), found.group(3)
    reader, target = _part(part, wanted)
    compare: dict[str, Callable[[int, int], bool]] = {
        "EE": int.__eq__,
        "NE": int.__ne__,
        "GT": int.__gt__,
        "LT": int.__lt__,
        "GE": int.__ge__,
        "LE": int.__le__,
    }

    def test(value: str) -> bool:
        moment = parse_glide(value)
        return moment is not None and compare[op](reader(moment), target)

    return test


def _part(part: str, wanted: str) -> tuple[Callable[[datetime], int], int]:
    if part == "dayofweek" and wanted in DAYS:
        return (lambda m: m.weekday()), DAYS.index(wanted)
    if part == "month" and wanted in MONTHS:
        return (lambda m: m.month - 1), MONTHS.index(wanted)
    if part in ("year", "hour") and wanted.isdigit():
        return (lambda m: m.year) if part == "year" else (lambda m: m.hour), int(wanted)
    raise invalid(f"DATEPART of {part!r} = {wanted!r} is not supported")


def interval(op: str, raw: str) -> tuple[str, Callable[[str, str], bool]]:
    """MORETHAN / LESSTHAN ``other_field@unit@before|after@n``: (the other field, a test of (value, other))."""
    parts = raw.split("@")
    if len(parts) != 4 or parts[1] not in UNITS or parts[2] not in ("before", "after") or not parts[3].isdigit():
        raise invalid(f"{op} needs 'field@unit@before|after@n', not {raw!r}")
    span, after = UNITS[parts[1]] * int(parts[3]), parts[2] == "after"

    def test(value: str, other: str) -> bool:
        mine, theirs = parse_glide(value), parse_glide(other)
        if mine is None or theirs is None:
            return False
        delta = mine - theirs if after else theirs - mine
        return delta > span if op == "MORETHAN" else delta < span

    return parts[0], test
