"""Jira's times: parsed from what its APIs write, and the canonical version string of an issue's ``updated``.

Pure, shared by the Jira adapter, the Jira webhook source and the e-bonding flow's reading of a Jira issue.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_time", "version_of"]


def parse_time(value: str) -> datetime:
    """Jira's ``2024-01-15T10:30:00.000+0000`` (or ISO 8601 with a colon offset) as an aware datetime."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {value!r}")
    return moment


def version_of(moment: datetime) -> str:
    """The canonical version string of an ``updated`` time: UTC, milliseconds, so equal times compare equal
    whichever API or time zone reported them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
