"""Named pure transforms a mapping may apply to a value (``transform: [strip, {truncate: 80}]``) or use as a
Jinja2 filter (``{{ title | truncate(80) }}``).

An explicit dict, not import magic: the full list an admin can use is :data:`TRANSFORMS`, and a new one is a
pure function added here with a test. Each takes the value first; any arguments come from the mapping file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.mappings.priority import priority_for
from bridge.mappings.redaction import redact_mpans

ELLIPSIS = "…"
SERVICENOW_TIME = "%Y-%m-%d %H:%M:%S"

Transform = Callable[..., Any]


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` cut to ``width`` by replacing its middle with an ellipsis (both ends of a name stay readable)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head = math.ceil(keep / 2)
    return text[:head] + ELLIPSIS + (text[-(keep - head) :] if keep - head else "")


def priority(value: Any, urgency: Any = None) -> str:
    """Ops Manual 3.8 priority ("1".."4") from impact and urgency: ``impact | priority(urgency)``, or a value
    that is ``{impact:, urgency:}`` or ``[impact, urgency]``."""
    if urgency is not None:
        impact = value
    elif isinstance(value, Mapping):
        impact, urgency = value.get("impact"), value.get("urgency")
    elif isinstance(value, list | tuple) and len(value) == 2:
        impact, urgency = value
    else:
        raise ValueError("priority needs an impact and an urgency")
    try:
        return str(priority_for(impact, urgency).value)
    except ValueError:
        raise ValueError("impact and urgency must be high, medium or low (or 1-3)") from None


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(SERVICENOW_TIME)


def iso_to_servicenow(value: Any) -> str:
    """ISO 8601 (``2026-03-01T09:30:00+01:00``, ``...Z``) -> ServiceNow's ``YYYY-MM-DD HH:MM:SS`` in UTC;
    a time without an offset is taken as UTC."""
    text = str(value).strip()
    try:
        return _utc_text(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None


def epoch_to_servicenow(value: Any) -> str:
    """Unix seconds (int, float or digits) -> ServiceNow's ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError("not a Unix time in seconds") from None
    return _utc_text(datetime.fromtimestamp(seconds, tz=UTC))


def truncate(value: Any, length: int) -> str:
    """At most ``length`` characters, the middle replaced by an ellipsis (like the incident title fitting)."""
    return middle_ellipsis(_text(value), length)


def clip(value: Any, length: int) -> str:
    """The first ``length`` characters, cut without an ellipsis (a field with a hard length limit)."""
    return _text(value)[:length]


def join(value: Any, separator: str = ", ") -> str:
    """A list as one string; a single value as its text."""
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return separator.join(_text(item) for item in value)
    return _text(value)


def sort(value: Any) -> list[Any]:
    """A list sorted (by text, so mixed values never fail)."""
    return sorted(value, key=_text) if isinstance(value, Iterable) and not isinstance(value, str) else [value]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def redact(value: Any) -> str:
    """The text with every MPAN replaced (:func:`bridge.mappings.redaction.redact_mpans`)."""
    return redact_mpans(_text(value))


#: name -> transform; the only names a mapping may use. Pure functions, value first.
TRANSFORMS: dict[str, Transform] = {
    "priority": priority,
    "redact_mpans": redact,
    "iso_to_servicenow": iso_to_servicenow,
    "epoch_to_servicenow": epoch_to_servicenow,
    "truncate": truncate,
    "clip": clip,
    "lower": lambda value: _text(value).lower(),
    "upper": lambda value: _text(value).upper(),
    "strip": lambda value: _text(value).strip(),
    "join": join,
    "sort": sort,
    "text": _text,
}
