"""Inbound email as data: parse a raw message, find the case it belongs to, and word it as a case comment.

Pure functions, no I/O: the mailbox reader (:mod:`bridge.adapters.imap`) fetches bytes, these functions make
sense of them, and the engine decides. How the engine uses them:

- ``parse_mail(raw)`` never raises on a malformed message: undecodable parts are decoded with replacement
  characters, broken headers are read raw, a missing Message-ID is replaced by one derived from the bytes
  (so the Message-ID dedupe still holds).
- ``case_reference(mail, lookup_message_id=store.case_for_message_id)`` threads a reply by the ``[CS0001234]``
  tag in its subject, then by In-Reply-To / References against the Message-IDs the bridge sent. ``None``
  means quarantine, never drop.
- ``to_comment(mail)`` is the customer-visible comment; ``mail.attachments`` become case attachments.
  MPANs may go onto the case (Ops Manual 10.5.5 forbids them in outbound email only), so nothing is
  redacted here.
- ``mail.automatic`` marks auto-replies and bounces, which should not become comments (mail loops).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath, PureWindowsPath

from pydantic import BaseModel, ConfigDict, Field

from bridge.mappings._inbound_text import html_to_text, strip_quoted_reply

DEFAULT_CASE_PATTERN = r"\[(CS\d{7}|INC\d{7})\]"
_MSG_ID_RE = re.compile(r"<[^<>\s]+>")
_SIGNATURE_TYPES = frozenset(
    {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_LATIN1_ALIASES = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})
_MAX_NAME = 200


class InboundAttachment(BaseModel):
    """A file that came with the mail; ``inline`` ones are pictures shown in the body (screenshots, logos)."""

    model_config = ConfigDict(frozen=True)
    filename: str
    content_type: str
    data: bytes = Field(repr=False)
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


class InboundMail(BaseModel):
    """One parsed message. ``uid`` is set by the mailbox reader (the handle for ``mark_handled``)."""

    model_config = ConfigDict(frozen=True)
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    from_address: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    text_from_html: bool = False
    attachments: tuple[InboundAttachment, ...] = ()
    automatic: bool = False
    uid: int | None = None
    problem: str | None = Field(default=None, description="why it could not be read in full: quarantine it")
    raw: bytes = Field(default=b"", repr=False)

    @property
    def sender(self) -> str:
        """``Name <address>``, or the address alone."""
        if self.from_name and self.from_name != self.from_address:
            return f"{self.from_name} <{self.from_address}>"
        return self.from_address


def parse_mail(raw: bytes) -> InboundMail:
    """Parse a raw RFC 5322 message; tolerant of the malformed mail real mailboxes receive.

    Never raises: a message that still defeats the parser comes back with ``problem`` set (and its bytes),
    so one poison message cannot stall the mailbox.
    """
    try:
        return _parse(raw)
    except Exception as exc:
        problem = f"could not be parsed ({type(exc).__name__})"
        return InboundMail(message_id=_fallback_id(raw), raw=raw, problem=problem)


def _parse(raw: bytes) -> InboundMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # guaranteed by policy.default
    body = _Body()
    _collect(message, body)
    sender_name, sender_address = _first_address(_header(message, "From"))
    return InboundMail(
        message_id=_message_id(message, raw),
        in_reply_to=next(iter(_MSG_ID_RE.findall(_header(message, "In-Reply-To"))), None),
        references=tuple(_MSG_ID_RE.findall(_header(message, "References"))),
        from_address=sender_address,
        from_name=sender_name,
        to=_addresses(_header(message, "To")),
        cc=_addresses(_header(message, "Cc")),
        subject=" ".join(_header(message, "Subject").split()),
        date=_date(_header(message, "Date")),
        text=body.text(),
        text_from_html=body.from_html,
        attachments=tuple(body.attachments),
        automatic=_is_automatic(message),
        raw=raw,
    )


def parse_headers(raw_header: bytes, *, size: int) -> InboundMail:
    """A mail known by its headers only (too large to fetch): enough to list it in the quarantine."""
    mail = parse_mail(raw_header.rstrip(b"\r\n") + b"\r\n\r\n")
    problem = f"message of {size} bytes is larger than the configured limit; only its headers were read"
    return mail.model_copy(update={"problem": problem})


def case_reference(
    mail: InboundMail,
    *,
    pattern: str = DEFAULT_CASE_PATTERN,
    lookup_message_id: Callable[[str], str | None] | None = None,
) -> str | None:
    """The case a mail belongs to: a tag in the subject first, then the thread's Message-IDs, newest first."""
    found = re.search(pattern, mail.subject)
    if found:
        return found.group(1) if found.re.groups else found.group(0)
    if lookup_message_id is None:
        return None
    for message_id in thread_message_ids(mail):
        case = lookup_message_id(message_id)
        if case:
            return case
    return None


def thread_message_ids(mail: InboundMail) -> list[str]:
    """In-Reply-To, then References from the newest back: the order in which to look a thread up."""
    ids = [mail.in_reply_to] if mail.in_reply_to else []
    ids.extend(reversed(mail.references))
    return list(dict.fromkeys(ids))


def to_comment(mail: InboundMail) -> str:
    """The customer-visible comment: who wrote, when, what they wrote new, and which files came with it."""
    when = mail.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if mail.date else "an unknown time"
    reply = strip_quoted_reply(mail.text) or "(no new text in this email)"
    lines = [f"Email from {mail.sender or 'an unknown sender'} at {when}:", "", reply]
    files = [a.filename for a in mail.attachments if not a.inline or not a.content_type.startswith("image/")]
    images = sum(1 for a in mail.attachments if a.inline and a.content_type.startswith("image/"))
    if files:
        lines += ["", "Attachments: " + ", ".join(files)]
    if images:
        lines += ["", f"Inline images: {images} (attached to the case)"]
    return "\n".join(lines)


# --- body and attachments ----------------------------------------------------------------------------------


@dataclass
class _Body:
    """What walking the MIME tree gathers: text pieces in order, and every file."""

    pieces: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    from_html: bool = False

    def text(self) -> str:
        return "\n\n".join(piece for piece in self.pieces if piece.strip())


def _collect(part: Message, body: _Body, *, inline_only: bool = False) -> None:
    """Walk the tree: alternatives give one body piece, related parts' extras and files are attachments.

    ``inline_only`` walks an alternative we did not pick, gathering only its pictures (Outlook puts pasted
    screenshots in the HTML alternative only, and they are evidence).
    """
    content_type = part.get_content_type()
    if content_type == "multipart/alternative":
        _collect_alternative(part, body, inline_only=inline_only)
    elif content_type == "message/rfc822":
        _add_attachment(part, body)  # a forwarded mail is evidence as it stands: keep it whole, as .eml
    elif part.is_multipart():
        for child in _children(part):
            _collect(child, body, inline_only=inline_only)
    elif content_type in _SIGNATURE_TYPES:
        return
    elif _is_attachment(part):
        _add_attachment(part, body)
    elif not inline_only:
        _add_text(part, body)


def _collect_alternative(part: Message, body: _Body, *, inline_only: bool) -> None:
    children = _children(part)
    chosen = _choose_alternative(children)
    for child in children:
        _collect(child, body, inline_only=inline_only or child is not chosen)


def _choose_alternative(children: list[Message]) -> Message | None:
    """Plain text when it says something, otherwise the richest (last) alternative we can render."""
    for child in children:
        if child.get_content_type() == "text/plain" and _decode_text(child).strip():
            return child
    renderable = [c for c in children if c.get_content_type() == "text/html" or c.is_multipart()]
    return renderable[-1] if renderable else (children[0] if children else None)


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _is_attachment(part: Message) -> bool:
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return True
    return part.get_content_type() not in ("text/plain", "text/html")


def _add_text(part: Message, body: _Body) -> None:
    text = _decode_text(part)
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
        body.from_html = True
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body.pieces.append("\n".join(line.rstrip() for line in lines).strip("\n"))


def _add_attachment(part: Message, body: _Body) -> None:
    content_type = part.get_content_type()
    data = _part_bytes(part)
    name = _safe_filename(part.get_filename(), content_type, len(body.attachments) + 1, part)
    inline = part.get_content_disposition() != "attachment" and content_type.startswith("image/")
    body.attachments.append(InboundAttachment(filename=name, content_type=content_type, data=data, inline=inline))


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.default)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _safe_filename(name: str | None, content_type: str, number: int, part: Message) -> str:
    """A bare file name: no directories, no control characters, never empty, never absurdly long."""
    if name:
        name = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
        name = "".join(ch for ch in name if ch.isprintable()).strip(" .")
    if not name and content_type == "message/rfc822":
        subject = _forwarded_subject(part)
        name = f"{subject}.eml" if subject else ""
    if not name:
        name = f"attachment-{number}{mimetypes.guess_extension(content_type) or '.bin'}"
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = stem[: _MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10 else name[:_MAX_NAME]
    return name


def _forwarded_subject(part: Message) -> str:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        subject = re.sub(r"[^\w .,()-]+", "", " ".join(_header(inner[0], "Subject").split()))
        return subject[:100].strip(" .")
    return ""


def _decode_text(part: Message) -> str:
    """Decode a text part by its charset, forgiving: Latin-1 read as Windows-1252, unknown or lying charsets
    fall back to UTF-8 then Windows-1252 rather than failing the whole message."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = (part.get_content_charset() or "").lower()
    if charset in _LATIN1_ALIASES:
        charset = "cp1252"
    for candidate in dict.fromkeys(c for c in (charset, "utf-8") if c):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


# --- headers -----------------------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    """A header's decoded value; a header the parser chokes on is returned raw rather than lost."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return str(value) if value is not None else ""


def _message_id(message: Message, raw: bytes) -> str:
    """The Message-ID, or a stable stand-in from the bytes so a resend of the same message still dedupes."""
    found = _MSG_ID_RE.findall(_header(message, "Message-ID"))
    if found:
        return str(found[0])
    return _fallback_id(raw)


def _fallback_id(raw: bytes) -> str:
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@bridge.invalid>"


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(address for _, address in getaddresses([value]) if "@" in address)


def _first_address(value: str) -> tuple[str, str]:
    for name, address in getaddresses([value]):
        if address:
            return " ".join(name.split()), address
    return "", ""


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_automatic(message: Message) -> bool:
    """Auto-replies, out-of-office notes and bounces (RFC 3834, common vendor headers, delivery reports)."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "Precedence").strip().lower() in _AUTO_PRECEDENCE:
        return True
    return message.get_content_type() == "multipart/report"


__all__ = [
    "DEFAULT_CASE_PATTERN",
    "InboundAttachment",
    "InboundMail",
    "case_reference",
    "parse_headers",
    "parse_mail",
    "strip_quoted_reply",
    "thread_message_ids",
    "to_comment",
]
