"""Times as operators type them (`2h`, `3d`, ISO 8601) and as the store keeps them (UNIX epoch seconds)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from bridge.errors import InputError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_when(text: str, *, now: float | None = None) -> float:
    """Epoch seconds for ``text``: ISO 8601 (a time without zone is UTC) or a span back from now (``90m``)."""
    match = _RELATIVE.match(text)
    if match:
        base = time.time() if now is None else now
        return base - float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(
            f"{text!r} is neither an ISO 8601 time (2026-11-20T10:00:00Z) nor a span back from now (30m, 2h, 3d)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(epoch: float | None) -> str:
    """A stored time for people: UTC, to the second; empty when there is none."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_iso(text: str | None) -> str:
    """An ISO 8601 time kept in flow state (say, a partner case's ``raised_at``) the way :func:`format_time`
    shows stored times; a value that is not one comes back as it is."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment.timestamp())
