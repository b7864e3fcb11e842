"""JQL's date functions (https://support.atlassian.com/jira-software-cloud/docs/jql-functions/): ``now()`` and
``startOfDay() endOfDay() startOfWeek() endOfWeek() startOfMonth() endOfMonth() startOfYear() endOfYear()``, each
with an optional increment such as ``"-1d"``, ``"+2w"``, ``"1M"`` (units y M w d h m), in the user's time zone.
Weeks start on Monday, as in a British locale.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from .errors import BadRequest

_INCREMENT = re.compile(r"^([-+]?)(\d+)([yMwdhm])$")
_FIXED = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
DATE_FUNCTIONS = frozenset(
    {f"{edge}of{unit}" for edge in ("start", "end") for unit in ("day", "week", "month", "year")} | {"now"}
)


def date_function(name: str, args: tuple[str, ...], now: datetime, zone: tzinfo) -> datetime:
    """The moment a date function stands for (``name`` lower-case)."""
    local = now.astimezone(zone)
    if name == "now":
        return now
    edge, unit = name[: name.index("of")], name[name.index("of") + 2 :]
    moment = _start(local, unit)
    if edge == "end":
        moment = _add(moment, 1, unit[0] if unit != "month" else "M") - timedelta(milliseconds=1)
    for arg in args:
        moment = _increment(moment, arg)
    return moment


def _start(local: datetime, unit: str) -> datetime:
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def _increment(moment: datetime, text: str) -> datetime:
    match = _INCREMENT.match(text.strip())
    if match is None:
        raise BadRequest(f"The increment '{text}' is not valid: use e.g. '-1d', '+2w' or '1M'.")
    amount = int(match.group(2)) * (-1 if match.group(1) == "-" else 1)
    return _add(moment, amount, match.group(3))


def _add(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in _FIXED:
        return moment + amount * _FIXED[unit]
    months = amount * (12 if unit == "y" else 1) + moment.month - 1
    year, month = moment.year + months // 12, months % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, 28) if moment.day > 28 else moment.day)
