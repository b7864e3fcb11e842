"""Timestamps in the several formats Azure Monitor sends, normalised to aware UTC datetimes.

Seen in Microsoft's own samples: ``2019-03-22T13:58:24.3713213Z`` (7 fractional digits, more than
``fromisoformat`` takes), ``2019-03-22T13:56:31.2917159+00:00``, ``2021-11-16T15:16:49Z``,
``3/22/2019 1:36:31 PM`` (US order, log alerts), ``11/17/2021 5:40:29 PM -08:00`` and
``Wed, 21 Aug 2019 16:17:47 GMT`` (RFC 1123, autoscale). A time without an offset is UTC: every Azure
Monitor field that carries one is documented as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bridge.mappings.azure._json import Node

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<clock>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?)?"
    r"\s*(?P<zone>Z|z|[+-]\d{2}:?\d{2})?"
)
_US = re.compile(
    r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)


def parse_timestamp(text: str) -> datetime:
    """Parse one Azure timestamp to an aware UTC datetime; ValueError if it is none of the known forms."""
    stripped = text.strip()
    for parser in (_parse_iso, _parse_us, _parse_rfc1123):
        parsed = parser(stripped)
        if parsed is not None:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"unrecognised timestamp {text!r}")


def _parse_iso(text: str) -> datetime | None:
    match = _ISO.fullmatch(text)
    if not match:
        return None
    clock = match["clock"] or "00:00:00"
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    zone = match["zone"] or ""
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{match['date']}T{clock}.{fraction}{zone}")


def _parse_us(text: str) -> datetime | None:
    match = _US.fullmatch(text)
    if not match:
        return None
    hour = int(match["hour"])
    ampm = (match["ampm"] or "").upper()
    if ampm and not 1 <= hour <= 12:
        return None
    if ampm:
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    naive = datetime(
        int(match["year"]), int(match["month"]), int(match["day"]), hour, int(match["minute"]),
        int(match["second"] or 0),
    )  # fmt: skip
    zone = match["zone"]
    if not zone or zone == "Z":
        return naive
    return datetime.fromisoformat(f"{naive.isoformat()}{zone if ':' in zone else zone[:3] + ':' + zone[3:]}")


def _parse_rfc1123(text: str) -> datetime | None:
    if not re.match(r"[A-Za-z]{3},", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def read_time(node: Node, *, required: bool = False) -> datetime | None:
    """A timestamp field: None when absent (unless ``required``), InputError naming the path when bad."""
    if node.missing or (isinstance(node.value, str) and not node.value.strip()):
        if required:
            raise node.fail("required timestamp is missing")
        return None
    if not isinstance(node.value, str):
        raise node.fail("expected a timestamp string")
    try:
        return parse_timestamp(node.value)
    except ValueError as exc:
        raise node.fail(str(exc)) from None
