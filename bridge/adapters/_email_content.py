"""The email adapter's redaction gate: redact every part of a message, then prove nothing is left.

Kept apart from :mod:`bridge.adapters.email` (which does SMTP) so each stays small; private to it.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import parseaddr
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.mappings import mpan_gate
from bridge.mappings.redaction import find_mpans, is_mpan_label, redact_and_count

_TEXT_SUBTYPES = frozenset({"json", "xml", "csv", "x-csv", "javascript", "x-yaml", "yaml"})
_MARKUP_SUBTYPES = frozenset({"html", "xml", "xhtml+xml"})
_CONTENT_TYPE_RE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;.*)?$")
_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_PDF_STREAM_RE = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_INSPECT_LIMIT = 20 * 1024 * 1024  # bytes of decompressed content inspected per attachment


class Attachment(BaseModel):
    """One attachment as a mapping hands it over: name, MIME type, base64 content."""

    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", pattern=_CONTENT_TYPE_RE.pattern)
    content_b64: str

    @field_validator("content_b64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("content_b64 is not valid base64") from None
        return value

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.content_b64)

    @property
    def mime(self) -> tuple[str, str]:
        """The type to attach as: a forwarded ``message/*`` becomes text (so it is redacted), ``multipart/*``
        opaque bytes (a MIME part cannot be an attachment's body)."""
        maintype, _, subtype = self.content_type.split(";")[0].strip().lower().partition("/")
        if maintype == "message":
            return "text", "plain"
        if maintype == "multipart":
            return "application", "octet-stream"
        return maintype, subtype


def is_address(value: str) -> bool:
    """One plausible address, no header tricks (line breaks, several addresses in one string)."""
    if any(ch in value for ch in "\r\n,;"):
        return False
    address = parseaddr(value)[1]
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain


@dataclass
class Redactor:
    """Redacts one message's fields, replacing each MPAN by a note pointing at the case; counts per field."""

    case_number: str
    portal_url: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def note(self) -> str:
        return f"[MPAN removed - see case {self.case_number}: {self.portal_url}]"

    def subject(self, value: str) -> str:
        """One line, starting with ``[CS...]`` unless it has it already, so replies thread back to the case.
        Redacted before it is made one line: an MPAN broken over a quoted line (``\n> ``) is still one MPAN."""
        redacted = self._apply(value, "subject", f"[MPAN removed - see case {self.case_number}]")
        subject = " ".join(redacted.split())
        reference = f"[{self.case_number}]"
        return subject if reference in subject else f"{reference} {subject}".rstrip()

    def text(self, value: str) -> str:
        """The text part; it always ends up carrying the case number and the portal link (10.5.5)."""
        text = self._apply(value, "text", self.note)
        if self.portal_url not in text:
            text = f"{text.rstrip()}\n\nCase {self.case_number}: {self.portal_url}\n"
        return text

    def html(self, value: str) -> str:
        markup = self._apply(value, "html", self.note, markup=True)
        if html.escape(self.portal_url) not in markup and self.portal_url not in markup:
            link = f'<p><a href="{html.escape(self.portal_url)}">Case {html.escape(self.case_number)}</a></p>'
            markup = _before_body_end(markup, link)
        return markup

    def filename(self, value: str) -> str:
        """Redacted first, then control characters and path separators replaced (which would hide a split MPAN)."""
        return re.sub(r"[\x00-\x1f/\\]+", "_", self._apply(value, "attachment_name", "MPAN-removed"))

    def attachment(self, data: bytes, maintype: str, subtype: str, charset: str | None) -> str | None:
        """Redacted content of a text-like attachment, or None to send the bytes as they are (no MPAN found,
        or a type that cannot be edited: the rescan decides whether those may go)."""
        if not is_text_like(maintype, subtype):
            return None
        text = _decode(data, charset)
        before = sum(self.counts.values())
        redacted = self._json(text) if subtype == "json" or subtype.endswith("+json") else None
        if redacted is None:
            markup = subtype in _MARKUP_SUBTYPES or subtype.endswith("+xml")
            redacted = self._apply(text, "attachment_content", self.note, markup=markup)
        return redacted if sum(self.counts.values()) > before else None

    def _json(self, text: str) -> str | None:
        """Redact inside a JSON document value by value, so it stays valid JSON (``"mpan": 1234...``)."""
        try:
            document = json.loads(text)
        except ValueError:
            return None
        redacted, count = _walk_json(document, self.note, labelled=False)
        self._count("attachment_content", count)
        return json.dumps(redacted, ensure_ascii=False, indent=2) if count else text

    def _apply(self, value: str, field_name: str, note: str, *, markup: bool = False) -> str:
        redacted, count = redact_and_count(value, note, markup=markup)
        self._count(field_name, count)
        return redacted

    def _count(self, field_name: str, count: int) -> None:
        if count:
            self.counts[field_name] = self.counts.get(field_name, 0) + count


@dataclass(frozen=True)
class Built:
    """A built, redacted message and how many MPANs went from each field."""

    message: EmailMessage
    counts: dict[str, int]

    def audit(self) -> list[dict[str, Any]]:
        """For the audit log: which field, how many; never the MPAN itself."""
        return [{"field": name, "count": count} for name, count in sorted(self.counts.items())]


def is_text_like(maintype: str, subtype: str) -> bool:
    return maintype == "text" or subtype in _TEXT_SUBTYPES or subtype.endswith(("+json", "+xml"))


def fill_body(
    message: EmailMessage, *, text: str, html: str | None, attachments: list[Attachment], redactor: Redactor
) -> None:
    """Text part, optional HTML alternative, then attachments; every one through the redactor."""
    message.set_content(redactor.text(text))
    if html is not None:
        message.add_alternative(redactor.html(html), subtype="html")
    for attachment in attachments:
        _attach(message, attachment, redactor)


def _attach(message: EmailMessage, attachment: Attachment, redactor: Redactor) -> None:
    maintype, subtype = attachment.mime
    name = redactor.filename(attachment.filename)
    charset = _charset(attachment.content_type)
    redacted = redactor.attachment(attachment.data, maintype, subtype, charset)
    if redacted is None:
        params = {"charset": charset} if charset else {}
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=name, params=params)
    elif maintype == "text":
        message.add_attachment(redacted, subtype=subtype, filename=name)
    else:
        message.add_attachment(redacted.encode(), maintype=maintype, subtype=subtype, filename=name)


def gate_findings(message: EmailMessage) -> list[str]:
    """The last gate: where the built message still holds something MPAN-shaped (empty: it may be sent).

    Every header and every part, decoded (quoted-printable and base64 undone, charsets applied, HTML read as
    text), goes through :mod:`bridge.mappings.mpan_gate`, which shares no code with the redactor, and through
    the redactor's own detector too; either finding refuses the message.
    """
    found: list[str] = []
    for index, part in enumerate(message.walk()):
        where = _describe(index, part)
        found.extend(f"the {name} header of {where}" for name, value in part.items() if _holds_mpan(str(value)))
        if not part.is_multipart() and _holds_mpan(_part_text(part), markup=_is_markup(part)):
            found.append(where)
    return found


def refusal_reason(where: list[str]) -> str:
    """The dead letter's reason: where, never what."""
    return f"MPAN still present in {', '.join(where)} after redaction; the email was not sent (Ops Manual 10.5.5)"


def _holds_mpan(text: str, *, markup: bool = False) -> bool:
    return mpan_gate.holds_mpan(text, markup=markup) or bool(find_mpans(text))


def _is_markup(part: Message) -> bool:
    subtype = part.get_content_subtype()
    return subtype in _MARKUP_SUBTYPES or subtype.endswith("+xml")


def _describe(index: int, part: Message) -> str:
    kind = "attachment" if part.get_content_disposition() == "attachment" else "part"
    return "the message" if index == 0 and part.is_multipart() else f"{kind} {index} ({part.get_content_type()})"


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    maintype, subtype = part.get_content_maintype(), part.get_content_subtype()
    if is_text_like(maintype, subtype):
        return _decode(data, part.get_content_charset())
    return "\n".join(_binary_texts(data))


def _binary_texts(data: bytes) -> Iterator[str]:
    """Best effort for content we cannot edit: raw bytes, ZIP (and Office) members, inflated PDF streams."""
    yield data[:_INSPECT_LIMIT].decode("latin-1")
    if data.startswith(b"PK"):
        yield from _zip_texts(data)
    if data.startswith(b"%PDF"):
        yield from _pdf_texts(data)


def _zip_texts(data: bytes) -> Iterator[str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        budget = _INSPECT_LIMIT
        for info in archive.infolist():
            yield info.filename
            if budget <= 0 or info.is_dir() or info.flag_bits & 0x1:  # encrypted: nothing we can read
                continue
            with archive.open(info) as member:
                chunk = member.read(budget)
            budget -= len(chunk)
            yield chunk.decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error, EOFError):
        return


def _pdf_texts(data: bytes) -> Iterator[str]:
    budget = _INSPECT_LIMIT
    for stream in _PDF_STREAM_RE.finditer(data):
        if budget <= 0:
            return
        try:
            inflated = zlib.decompressobj().decompress(stream.group(1), budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        yield inflated.decode("latin-1")


def _walk_json(value: Any, note: str, *, labelled: bool) -> tuple[Any, int]:
    if isinstance(value, dict):
        total, out = 0, {}
        for key, item in value.items():
            new_key, key_count = redact_and_count(str(key), note)
            out[new_key], count = _walk_json(item, note, labelled=is_mpan_label(str(key)))
            total += key_count + count
        return out, total
    if isinstance(value, list):
        results = [_walk_json(item, note, labelled=labelled) for item in value]
        return [item for item, _ in results], sum(count for _, count in results)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value, 0
    prefix = "MPAN: " if labelled else ""
    redacted, count = redact_and_count(prefix + str(value), note)
    return (redacted[len(prefix) :] if count else value), count


def _before_body_end(markup: str, addition: str) -> str:
    index = markup.lower().rfind("</body>")
    return markup + addition if index < 0 else markup[:index] + addition + markup[index:]


def _decode(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return data.decode("latin-1")


def _charset(content_type: str) -> str | None:
    found = _CHARSET_RE.search(content_type)
    return found.group(1) if found else None
