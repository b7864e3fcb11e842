"""Issue 15, "the final check uses the same detector": the last gate reads text its own way, fails closed (dead
letter with the reason, an audit row, nothing sent), and leaves phone numbers, case numbers, sys_ids and
timestamps alone. The gate is exercised on its own, through the email adapter against a real SMTP server, and
through the dispatcher into the store."""

from __future__ import annotations

import base64
import quopri
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bridge.adapters import _email_content
from bridge.adapters.base import Operation
from bridge.adapters.email import EmailAdapter, Settings
from bridge.errors import PermanentError
from bridge.failures import decide
from bridge.mappings.mpan_gate import check_digit_ok, holds_mpan, mpan_windows
from bridge.mappings.redaction import mpan_check_digit

M = "1200023305967"
SUPERSCRIPT = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")

CAUGHT = {
    "plain": M,
    "glued to MPAN": f"MPAN{M}",
    "glued to a unit": f"{M}kWh",
    "grouped": "12 0002 3305 967",
    "thousands": "1,200,023,305,967",
    "pipes": "12 | 0002 | 3305 | 967",
    "invisible marks": "\u200e".join(M),
    "variation selectors": "\ufe0f".join(M),
    "tag characters": "\U000e0041".join(M),
    "superscript": M.translate(SUPERSCRIPT),
    "full width": "".join(chr(0xFF10 + int(d)) for d in M),
    "arabic-indic": "".join(chr(0x0660 + int(d)) for d in M),
    "split by tags": "12<b>0002</b>3305<span>967</span>",
    "table cells": "<td>12</td><td>0002330596</td><td>7</td>",
    "entities as digits": "&#49;&#50;0002330&#53;967",
    "percent-encoded spaces": "q=12%200002%203305%20967",
    "split over two quoted lines": "> 1200023\n> 305967",
    "full MPAN, 21 digits": f"01801100{M}",
    "full MPAN, grouped": "S 01 801 100 12 0002 3305 967",
    "glued label, grouped": "MPAN12 0002 3305 967",
}


@pytest.mark.parametrize("text", CAUGHT.values(), ids=CAUGHT.keys())
def test_the_gate_catches_every_form(text: str) -> None:
    assert holds_mpan(text, markup=True)


LEFT_ALONE = {
    "UK phone": "Call 03700 106950 or +44 7700 900123",
    "phone with trunk prefix": "+44 (0)20 7380 4100",
    "two phones side by side": "020 7380 4100 / 07700 900123",
    "two phones on two lines": "+44 (0)20 7380 4100\n020 7380 4100",
    "signature": "T: 03700 106950 | M: +44 7700 900123",
    "case numbers": "CS0012345 INC0010001 RITM0001234",
    "sys_id": "sys_id=46d44a23a9fe19810012d100cca80666",
    "sys_id with a 13-digit run": "abc1200023305967def0123456789ab",
    "message id": "<bridge.1200023305967aaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com>",
    "ISO timestamp": "2024-05-01T10:22:33.123456Z",
    "timestamp": "2024-05-01 10:22:33",
    "UK date and time": "01/05/2024 10:22",
    "compact timestamp": "20240501102233",
    "table row": "<tr><td>CS0012345</td><td>2024-05-10 10:33:00</td><td>423</td><td>Rejected</td></tr>",
    "order numbers in a list": "Orders 4500012345, 4500012346 and 4500012347",
    "money": "£1,234,567.89",
    "wrong check digit": "1200023305964",
}


@pytest.mark.parametrize("text", LEFT_ALONE.values(), ids=LEFT_ALONE.keys())
def test_the_gate_leaves_look_alikes_alone(text: str) -> None:
    assert not holds_mpan(text, markup=True)


def test_its_check_digit_agrees_with_the_redactors() -> None:
    for first12 in ("120002330596", "000000000000", "999999999999", "141234567890"):
        assert check_digit_ok(first12 + str(mpan_check_digit(first12)))
        assert not check_digit_ok(first12 + str((mpan_check_digit(first12) + 1) % 10))


def test_the_redaction_benchmark_corpus_passes_once_redacted() -> None:
    from bench.bench_redaction import email_corpus
    from bridge.mappings.redaction import redact_mpans

    corpus, planted = email_corpus(target_bytes=600_000)
    assert mpan_windows(corpus, markup=True) >= len(planted)
    assert mpan_windows(redact_mpans(corpus), markup=True) == 0


# --- through the adapter, against a real SMTP server --------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _adapter(port: int) -> EmailAdapter:
    settings = Settings(host="localhost", port=port, security="none", from_address="bridge@elexon.example")
    return EmailAdapter("desk-mail", settings)


def _operation(**payload: Any) -> Operation:
    body = {
        "to": ["desk@partner.example"],
        "subject": "Registration rejected",
        "text": "Please look at the case.",
        "case_number": "CS0012345",
        "portal_url": "https://portal.example/csm?sys_id=46d44a23a9fe19810012d100cca80666",
        **payload,
    }
    return Operation(
        id=7,
        route="desk",
        target_system="desk-mail",
        target_key="CS0012345",
        action="send_email",
        payload=body,
        idempotency_key="desk:7:0",
    )


def _blind_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A redactor that finds nothing: what reaches the gate is what a redactor bug would let through."""
    monkeypatch.setattr(_email_content, "redact_and_count", lambda text, note, markup=False: (text, 0))
    monkeypatch.setattr(_email_content, "find_mpans", lambda text: [])


@pytest.mark.parametrize("field", ["subject", "text", "html", "attachment name", "attachment"])
def test_a_missed_mpan_is_refused_with_the_reason_and_an_audit_entry(
    field: str, sink: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _blind_redactor(monkeypatch)
    hidden = "\u2063".join(M)  # split by invisible separators
    payload: dict[str, Any] = {
        "subject": {"subject": f"MPAN {hidden}"},
        "text": {"text": f"The meter is {hidden}."},
        "html": {"html": "<p>The meter is <b>12</b>0002<i>3305967</i></p>"},
        "attachment name": {"attachments": [_attachment(f"reads_{M}.csv", b"none")]},
        "attachment": {"attachments": [_attachment("reads.csv", f"mpan\n{M.translate(SUPERSCRIPT)}\n".encode())]},
    }[field]
    with pytest.raises(PermanentError) as refused:
        _adapter(sink[1]).deliver(_operation(**payload))
    decision = decide(refused.value)
    assert decision.verdict == "dead"
    assert "not sent" in decision.reason and "2330596" not in decision.reason
    assert [entry["action"] for entry in decision.audit] == ["email.refused"]
    assert decision.audit[0]["subject"] == "CS0012345" and decision.audit[0]["where"]
    assert sink[0].envelopes == [], "nothing went to the SMTP server"


def test_transfer_encodings_are_undone_before_the_gate_reads() -> None:
    """quoted-printable and base64 parts are decoded: the encoded form hides nothing from the gate."""
    for encode in (lambda b: quopri.encodestring(b), base64.b64encode):
        message = EmailMessage()
        message["Subject"] = "x"
        message.set_content("plain")
        message.add_attachment(f"meter {M}".encode(), maintype="text", subtype="plain", filename="a.txt")
        part = next(iter(message.iter_attachments()))
        part.set_payload(encode(f"meter {M}".encode()).decode())
        part.replace_header(
            "Content-Transfer-Encoding", "quoted-printable" if encode is not base64.b64encode else "base64"
        )
        assert _email_content.gate_findings(message) == ["attachment 2 (text/plain)"]


def test_clean_email_with_look_alikes_is_sent(sink: tuple[Sink, int]) -> None:
    text = "\n".join(LEFT_ALONE.values())
    _adapter(sink[1]).deliver(_operation(text=text, html=f"<p>{text}</p>"))
    assert len(sink[0].envelopes) == 1


def _attachment(name: str, data: bytes) -> dict[str, str]:
    return {"filename": name, "content_type": "text/csv", "content_b64": base64.b64encode(data).decode()}


# --- through the dispatcher: the dead letter and the audit row in the store --------------------------------


def test_the_dispatcher_dead_letters_and_audits_a_refused_email(
    tmp_path: Path, sink: tuple[Sink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.config import load_config
    from bridge.runtime import build_runtime
    from bridge.store import outbox as ob
    from bridge.store.schema import audit, dead_letters
    from tests.conftest import write_config

    _blind_redactor(monkeypatch)
    target = {
        "kind": "email",
        "host": "localhost",
        "port": sink[1],
        "security": "none",
        "from_address": "bridge@elexon.example",
    }
    config = write_config(tmp_path, {"targets": {"desk-mail": target}, "dispatcher": {"idle_poll_seconds": 0.02}})
    runtime = build_runtime(load_config(config))
    try:
        op = _operation(text="meter 12 0002 3305 967")
        with runtime.store.begin() as conn:
            ob.enqueue(
                conn,
                runtime.store,
                [
                    ob.NewOperation(
                        event_id=None,
                        route="desk",
                        target_system="desk-mail",
                        target_key="CS0012345",
                        action="send_email",
                        payload=dict(op.payload),
                        idempotency_key="desk:7:0",
                    )
                ],
            )
        assert runtime.dispatcher.drain(timeout=30)
        with runtime.store.begin() as conn:
            reasons = list(conn.execute(sa.select(dead_letters.c.reason)).scalars())
            audits = list(
                conn.execute(sa.select(audit.c.action, audit.c.subject).where(audit.c.action == "email.refused"))
            )
    finally:
        runtime.stop()
    assert len(reasons) == 1 and "(text/plain)" in reasons[0] and "0002" not in reasons[0]
    assert [tuple(row) for row in audits] == [("email.refused", "CS0012345")]
    assert sink[0].envelopes == []
