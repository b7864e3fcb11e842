"""Glide date-time strings and the ``javascript:gs.*`` values queries may carry.

The platform stores and returns date-times in UTC as ``YYYY-MM-DD HH:MM:SS``, so comparing two of them as
strings orders them correctly; the handful of GlideSystem helpers below are the ones filters generate
(ServiceNowDocs ``markdown/platform-user-interface/r_OpAvailableFiltersQueries.md``, date-time operators).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

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


def _relative(name: str, args: list[str], base: datetime) -> str | None:
    """The relative helpers (``daysAgo(3)``, ``hoursAgo(1)``, ``beginningOfToday()``...)."""
    amount = int(args[0]) if args and args[0].lstrip("-").isdigit() else 0
    start_of_day = base.replace(hour=0, minute=0, second=0, microsecond=0)
    moments = {
        "daysAgo": base - timedelta(days=amount),
        "daysAgoStart": start_of_day - timedelta(days=amount),
        "daysAgoEnd": start_of_day - timedelta(days=amount) + timedelta(hours=23, minutes=59, seconds=59),
        "hoursAgo": base - timedelta(hours=amount),
        "minutesAgo": base - timedelta(minutes=amount),
        "beginningOfToday": start_of_day,
        "endOfToday": start_of_day + timedelta(hours=23, minutes=59, seconds=59),
        "nowDateTime": base,
        "nowNoTZ": base,
    }
    moment = moments.get(name)
    return moment.strftime(GLIDE_FORMAT) if moment else None


def resolve_value(value: str, *, user_sys_id: str = "", now: float | None = None) -> tuple[str, bool]:
    """Resolve a query operand; returns (value, depends_on_time_or_user) so callers know not to cache."""
    match = _JS.match(value)
    if match is None:
        return value, False
    name, args = match.group(1), _args(match.group(2))
    if name == "dateGenerate":
        return _date_generate(args), False
    if name == "getUserID":
        return user_sys_id, True
    base = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    relative = _relative(name, args, base)
    return (relative, True) if relative is not None else (value, False)
