"""Quarantined mail on the server: the reason stamped into the message, and the summary an admin lists.

The reason travels in the message itself (an ``X-Bridge-Quarantine`` header prepended to a copy), so it is
visible in any mail client and survives the bridge's own store being rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bridge.mappings.inbound_email import parse_mail
from bridge.mappings.redaction import redact_mpans

QUARANTINE_HEADER = "X-Bridge-Quarantine"
QUARANTINED_AT_HEADER = "X-Bridge-Quarantined-At"
_FIELDS = f"MESSAGE-ID FROM SUBJECT DATE {QUARANTINE_HEADER} {QUARANTINED_AT_HEADER}".upper()
#: What ``list_quarantine`` fetches per message: a few headers and the size, never the body.
SUMMARY_FETCH = [f"BODY.PEEK[HEADER.FIELDS ({_FIELDS})]", "RFC822.SIZE"]


class QuarantineEntry(BaseModel):
    """One quarantined mail as an admin sees it in a list; the subject has any MPAN redacted (it may be logged)."""

    model_config = ConfigDict(frozen=True)
    uid: int
    message_id: str
    from_address: str
    subject: str
    date: datetime | None
    reason: str
    quarantined_at: datetime | None
    size: int


def stamped(raw: bytes, reason: str) -> bytes:
    """The message with the quarantine reason and time prepended as headers (ASCII, one line each)."""
    clean = " ".join(reason.split()).encode("ascii", "replace").decode()[:300] or "unspecified"
    lines = f"{QUARANTINE_HEADER}: {clean}\r\n{QUARANTINED_AT_HEADER}: {formatdate(usegmt=True)}\r\n"
    return lines.encode() + raw


def header_block(raw: bytes) -> bytes:
    """The header section of a raw message (enough to read its Message-ID without parsing the body)."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    return raw if end < 0 else raw[: end + 2]


def summary(uid: int, data: Mapping[bytes, Any]) -> QuarantineEntry:
    """The list entry for one message from the ``SUMMARY_FETCH`` response."""
    header = next((value for key, value in data.items() if key.startswith(b"BODY[HEADER")), b"")
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(header or b"")
    mail = parse_mail(header or b"\r\n")
    return QuarantineEntry(
        uid=uid,
        message_id=mail.message_id,
        from_address=mail.from_address,
        subject=redact_mpans(mail.subject),
        date=mail.date,
        reason=str(parsed.get(QUARANTINE_HEADER, "")),
        quarantined_at=_when(str(parsed.get(QUARANTINED_AT_HEADER, ""))),
        size=int(data.get(b"RFC822.SIZE", 0)),
    )


def _when(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
