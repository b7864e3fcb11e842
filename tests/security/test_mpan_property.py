"""Issue 15's property: whatever form a valid MPAN is written in, no email the bridge sends holds its digits
(redacted, or the message refused by the last gate); and numbers that are not MPANs are never refused.

Every example goes through the real email adapter to a real SMTP server (aiosmtpd, started once for the module);
what arrived is decoded part by part and searched for the MPAN's 13 digits in order, joined by anything that is
not a letter or a digit, after the same folding a reader's eye does (NFKC, invisible characters dropped, tags
and entities read as text).
"""

from __future__ import annotations

import base64
import email
import html
import os
import re
import socket
import unicodedata
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.adapters.base import Operation
from bridge.adapters.email import EmailAdapter, Settings
from bridge.errors import PermanentError
from bridge.mappings.redaction import mpan_check_digit

EXAMPLES = int(os.environ.get("MPAN_EXAMPLES", "150"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- how people (and careless tools) write digits ------------------------------------------------------------

ZEROS = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE, 0x1D7EC]
SUPERSCRIPTS = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
SUBSCRIPTS = "".join(chr(0x2080 + d) for d in range(10))
CIRCLED = "\u24ea" + "".join(chr(0x2460 + d) for d in range(9))
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2060",
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\u00ad",
    "\u034f",
    "\ufe00",
    "\ufe0f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufeff",
    "\U000e0001",
    "\U000e0041",
    "\U000e0100",
    "\u0301",
    "\u20dd",
]
SEPARATORS = [" ", "  ", "\u00a0", "\u2009", "\u202f", "-", " - ", ".", "/", "\u2013", "\n", "\n> "]
PIPES = [" | ", "|"]  # a bill's layout: the same pipe between every group
TAGS = ["<b>", "</b>", "<span>", '</span> <span class="v">', "<br>", "</td><td>", "&nbsp;", "<wbr>", "&#8203;"]
GLUE_BEFORE = ["", "", "MPAN", "meter", "Core", "MSID", "S"]
GLUE_AFTER = ["", "", "kWh", "kW", "MWh"]
FIELDS = ["subject", "text", "html", "attachment name", "attachment content"]


def digit_forms() -> st.SearchStrategy[Any]:
    """A function turning an ASCII digit into the same digit in some Unicode form."""
    scripts = st.sampled_from(ZEROS).map(lambda zero: lambda d: chr(zero + int(d)))
    tables = st.sampled_from([SUPERSCRIPTS, SUBSCRIPTS, CIRCLED]).map(lambda table: lambda d: table[int(d)])
    return st.one_of(scripts, tables)


@st.composite
def written(draw: st.DrawFn, core: str, *, html_allowed: bool) -> str:
    """``core`` as someone might write it: any digit form, split anywhere by separators, invisible characters
    or (in HTML) tags, one separator or a mix, glued to a label or a unit or standing alone."""
    form = draw(digit_forms())
    digits = [form(d) for d in core]
    cuts = sorted(draw(st.lists(st.integers(1, 12), max_size=5, unique=True)))
    pools = [SEPARATORS, INVISIBLE, PIPES] + ([TAGS] if html_allowed else [])
    pool = draw(st.sampled_from(pools))
    consistent = pool is PIPES or draw(st.booleans())
    joiner = draw(st.sampled_from(pool))
    out = ""
    for index, digit in enumerate(digits):
        if index in cuts:
            out += joiner if consistent else draw(st.sampled_from(pool))
        out += digit
        if draw(st.integers(0, 9)) == 0:
            out += draw(st.sampled_from(INVISIBLE))
    return draw(st.sampled_from(GLUE_BEFORE)) + out + draw(st.sampled_from(GLUE_AFTER))


valid_cores = st.text("0123456789", min_size=12, max_size=12).map(lambda d: d + str(mpan_check_digit(d)))
invalid_cores = st.text("0123456789", min_size=12, max_size=12).flatmap(
    lambda d: st.integers(1, 9).map(lambda k: d + str((mpan_check_digit(d) + k) % 10))
)

# --- the adapter and a real SMTP server ------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Sink, EmailAdapter]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings_ = Settings(host="localhost", port=port, security="none", from_address="bridge@elexon.example")
    try:
        yield sink, EmailAdapter("desk-mail", settings_)
    finally:
        controller.stop()


def _send(adapter: EmailAdapter, field: str, value: str) -> None:
    body: dict[str, Any] = {
        "to": ["desk@partner.example"],
        "subject": "Registration rejected",
        "text": "Please look at the case.",
        "html": "<p>Please look at the case.</p>",
        "case_number": "CS0012345",
        "portal_url": "https://portal.example/csm?sys_id=46d44a23a9fe19810012d100cca80666",
    }
    if field == "subject":
        body["subject"] = f"Registration rejected for {value} today"
    elif field == "text":
        body["text"] = f"The affected supply is {value} as discussed.\nRegards"
    elif field == "html":
        body["html"] = f"<p>The affected supply is {value} as discussed.</p>"
    elif field == "attachment name":
        body["attachments"] = [_attachment(f"reads {value}.csv", b"no numbers")]
    else:
        body["attachments"] = [_attachment("reads.csv", f"id;supply;read\n7;{value};5\n".encode())]
    operation = Operation(
        id=1,
        route="desk",
        target_system="desk-mail",
        target_key="CS0012345",
        action="send_email",
        payload=body,
        idempotency_key="desk:1:0",
    )
    adapter.deliver(operation)


def _attachment(name: str, data: bytes) -> dict[str, str]:
    return {"filename": name, "content_type": "text/csv; charset=utf-8", "content_b64": base64.b64encode(data).decode()}


def _readable(message: EmailMessage) -> list[str]:
    """Every text a recipient can see: headers (decoded), each part decoded, attachment names."""
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        texts.extend(f"{name}: {value}" for name, value in part.items())
        if part.get_filename():
            texts.append(str(part.get_filename()))
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace") if payload else "")
    return texts


def _as_read(text: str) -> str:
    text = html.unescape(re.sub(r"<[^<>]*>", "", text))
    text = unicodedata.normalize("NFKC", text)
    kept = (ch for ch in text if unicodedata.category(ch) not in ("Cf", "Mn", "Me"))
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in kept)


def _holds(texts: list[str], core: str) -> bool:
    pattern = re.compile(r"[\W_]*".join(core))
    return any(pattern.search(_as_read(text)) for text in texts)


# --- the properties ----------------------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), core=valid_cores, field=st.sampled_from(FIELDS))
def test_no_sent_message_holds_a_valid_mpan(
    smtp: tuple[Sink, EmailAdapter], data: st.DataObject, core: str, field: str
) -> None:
    sink, adapter = smtp
    value = data.draw(written(core, html_allowed=field == "html"))
    before = len(sink.messages)
    try:
        _send(adapter, field, value)
    except PermanentError as refused:
        assert "not sent" in str(refused) and len(sink.messages) == before
        return
    assert len(sink.messages) == before + 1
    assert not _holds(_readable(sink.messages[-1]), core), value


PHONES = st.one_of(
    st.integers(100000, 999999).map(lambda n: f"03700 {n}"),
    st.integers(100000, 999999).map(lambda n: f"+44 7700 {n}"),
    st.tuples(st.integers(1000, 9999), st.integers(1000, 9999)).map(lambda p: f"+44 (0)20 {p[0]} {p[1]}"),
    st.tuples(st.integers(1000, 9999), st.integers(1000, 9999)).map(lambda p: f"020 {p[0]} {p[1]}"),
)
CASE_NUMBERS = st.tuples(st.sampled_from(["CS", "INC", "RITM", "CHG"]), st.integers(1, 9_999_999)).map(
    lambda p: f"{p[0]}{p[1]:07d}"
)
SYS_IDS = st.integers(0, 2**128 - 1).map(lambda n: f"{n:032x}")
TIMESTAMPS = st.tuples(st.integers(2020, 2030), st.integers(1, 12), st.integers(1, 28), st.integers(0, 86399)).map(
    lambda t: f"{t[0]}-{t[1]:02d}-{t[2]:02d} {t[3] // 3600:02d}:{t[3] // 60 % 60:02d}:{t[3] % 60:02d}"
)


@PROPERTY
@given(data=st.data(), field=st.sampled_from(FIELDS))
def test_numbers_that_are_not_mpans_are_never_refused(
    smtp: tuple[Sink, EmailAdapter], data: st.DataObject, field: str
) -> None:
    sink, adapter = smtp
    kind = data.draw(st.sampled_from(["phone", "case", "sys_id", "timestamp", "failing check digit"]))
    if kind == "failing check digit":
        core = data.draw(invalid_cores)
        value = data.draw(written(core, html_allowed=field == "html").filter(lambda v: not v.startswith(("M", "S"))))
    else:
        value = data.draw({"phone": PHONES, "case": CASE_NUMBERS, "sys_id": SYS_IDS, "timestamp": TIMESTAMPS}[kind])
    before = len(sink.messages)
    _send(adapter, field, value)  # a refusal raises PermanentError: the test fails with the gate's reason
    assert len(sink.messages) == before + 1
