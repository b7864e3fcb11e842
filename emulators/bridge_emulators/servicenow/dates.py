"""Glide date-time strings and the ``javascript:gs.*`` values queries may carry.

The platform stores and returns date-times in UTC as ``YYYY-MM-DD HH:MM:SS``, so comparing two of them as
strings orders them correctly; the handful of GlideSystem helpers below are the ones filters generate
(ServiceNowDocs ``markdown/platform-user-interface/r_OpAvailableFiltersQueries.md``, date-time operators).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from .errors import BadRequest

GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"

_JS = re.compile(r"^javascript:\s*(?:gs\.)?(\w+)\((.*)\)\s*;?\s*$", re.DOTALL)


def glide_now(now: float | None = None) -> str:
    """The current (or given epoch) time as a Glide UTC date-time string."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.strftime(GLIDE_FORMAT)


def _args(raw: str) -> list[str]:
    """Split a JS argument list of quoted strings and numbers."""
    return [a.strip().strip("'\"") for a in raw.split(",")] if raw.strip() else []


def _date_generate(args: list[str]) -> str:
    """``gs.dateGenerate('2024-01-01', '10:00:00')``; the time may also be 'start' or 'end'."""
    day = args[0] if args else ""
    clock = args[1] if len(args) > 1 else "00:00:00"
    clock = {"start": "00:00:00", "end": "23:59:59"}.get(clock, clock)
    return f"{day} {clock}"


_DAY_END = timedelta(hours=23, minutes=59, seconds=59)


def _relative(name: str, args: list[str], base: datetime) -> str | None:
    """The relative helpers (``daysAgo(3)``, ``hoursAgo(1)``, ``beginningOfToday()``, ``endOfLastWeek()``...)."""
    amount = int(args[0]) if args and args[0].lstrip("-").isdigit() else 0
    day = base.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    moments = {
        "daysAgo": base - timedelta(days=amount),
        "daysAgoStart": day - timedelta(days=amount),
        "daysAgoEnd": day - timedelta(days=amount) + _DAY_END,
        "hoursAgo": base - timedelta(hours=amount),
        "hoursAgoStart": base.replace(minute=0, second=0, microsecond=0) - timedelta(hours=amount),
        "minutesAgo": base - timedelta(minutes=amount),
        "beginningOfToday": day,
        "endOfToday": day + _DAY_END,
        "beginningOfYesterday": day - timedelta(days=1),
        "endOfYesterday": day - timedelta(days=1) + _DAY_END,
        "beginningOfTomorrow": day + timedelta(days=1),
        "endOfTomorrow": day + timedelta(days=1) + _DAY_END,
        "beginningOfThisWeek": week,
        "endOfThisWeek": week + timedelta(days=6) + _DAY_END,
        "beginningOfLastWeek": week - timedelta(weeks=1),
        "endOfLastWeek": week - timedelta(days=1) + _DAY_END,
        "beginningOfThisMonth": month,
        "endOfThisMonth": (month + timedelta(days=32)).replace(day=1) - timedelta(seconds=1),
        "beginningOfLastMonth": last_month,
        "endOfLastMonth": month - timedelta(seconds=1),
        "beginningOfThisYear": day.replace(month=1, day=1),
        "endOfThisYear": day.replace(month=12, day=31) + _DAY_END,
        "beginningOfLast7Days": day - timedelta(days=6),
        "endOfLast7Days": day + _DAY_END,
        "beginningOfLast30Days": day - timedelta(days=29),
        "endOfLast30Days": day + _DAY_END,
        "nowDateTime": base,
        "nowNoTZ": base,
    }
    moment = moments.get(name)
    return moment.strftime(GLIDE_FORMAT) if moment else None


def resolve_value(value: str, *, user_sys_id: str = "", now: float | None = None) -> tuple[str, bool]:
    """Resolve a query operand; returns (value, depends_on_time_or_user) so callers know not to cache.

    A ``javascript:`` value the emulator does not know is a 400, never compared as text (which would match
    whatever sorts after the word "javascript")."""
    match = _JS.match(value)
    if match is None:
        if value.strip().lower().startswith("javascript:"):
            raise BadRequest("Invalid query", f"the emulator does not evaluate {value!r}")
        return value, False
    name, args = match.group(1), _args(match.group(2))
    if name == "dateGenerate":
        return _date_generate(args), False
    if name == "getUserID":
        return user_sys_id, True
    base = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    relative = _relative(name, args, base)
    if relative is None:
        raise BadRequest("Invalid query", f"the emulator does not evaluate {value!r}")
    return relative, True
