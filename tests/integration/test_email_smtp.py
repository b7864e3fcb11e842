"""The email adapter against a real SMTP server (aiosmtpd in this process): the MPAN gate, TLS, AUTH, and
how SMTP failures are classified. Every captured message is decoded part by part and searched for MPANs."""

from __future__ import annotations

import base64
import datetime as dt
import email
import io
import ipaddress
import smtplib
import socket
import ssl
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import REGISTRY
from pydantic import SecretStr

from bridge.adapters import _email_content
from bridge.adapters.base import Adapter, Operation
from bridge.adapters.email import EmailAdapter, Settings, from_config
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.mappings.email_templates import render_email
from bridge.mappings.redaction import find_mpans

M = "1234567890126"  # valid MPAN core
BAD = "1234567890124"  # wrong check digit, redacted only after a label
PORTAL = "https://mhhs.service-now.com/csm?id=csm_ticket&table=sn_customerservice_case&sys_id=0a1b2c"
USER, PASSWORD = "bridge", "s3cret-Pa55word"


# --- a real SMTP server -----------------------------------------------------------------------------------


@dataclass
class Capture:
    """An aiosmtpd handler that keeps every message and refuses recipients starting with ``bad``/``later``."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[bytes] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("bad"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("later"):
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)

    def message(self, index: int = -1) -> EmailMessage:
        raw = self.envelopes[index].content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    capture: Capture
    port: int


@pytest.fixture
def plain_server() -> Iterator[Server]:
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Server(capture, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1, made here so the test needs nothing outside."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[Server]:
    capture = Capture()
    controller = Controller(
        capture,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=capture.authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield Server(capture, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Server]:
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port(), ssl_context=_server_context(certificate))
    controller.start()
    try:
        yield Server(capture, controller.port)
    finally:
        controller.stop()


# --- helpers -------------------------------------------------------------------------------------------------


def adapter(port: int, **overrides: Any) -> EmailAdapter:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "MHHS Service Desk <servicedesk@elexon.example>",
        "timeout": 5,
        "helo_name": "bridge.test",
        **overrides,
    }
    return from_config("partner-mail", settings)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "to": ["desk@partner.example"],
        "cc": ["shared@partner.example"],
        "subject": f"[CS0012345] Reads rejected for MPAN {M}",
        "text": f"Hello,\n\nMPAN: {BAD} failed validation.\n\n> On Monday you wrote:\n> meter 12 3456\n> 7890 126\n",
        "html": f"<p>Meter <b>{M[:2]}</b>{M[2:]}</p><table><tr><td>12</td><td>3456789012</td><td>6</td></tr></table>",
        "case_number": "CS0012345",
        "portal_url": PORTAL,
    }
    base.update(overrides)
    return base


def operation(body: dict[str, Any], *, key: str = "route-1:CS0012345:3", action: str = "send_email") -> Operation:
    return Operation(
        id=7,
        route="partner-email",
        target_system="partner-mail",
        target_key="CS0012345",
        action=action,
        payload=body,
        idempotency_key=key,
    )


def decoded_parts(message: EmailMessage) -> list[str]:
    """Every header and every part, decoded, as text: what a recipient could ever read."""
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        texts += [f"{name}: {value}" for name, value in part.items()]
        if part.is_multipart():
            continue
        content = part.get_content()
        texts.append(content if isinstance(content, str) else content.decode("latin-1"))
    return texts


def assert_no_mpan(message: EmailMessage, raw: bytes) -> None:
    for text in decoded_parts(message):
        assert find_mpans(text) == [], text
        assert M not in text and BAD not in text
    assert M.encode() not in raw and BAD.encode() not in raw


def redaction_count(field_name: str) -> float:
    return REGISTRY.get_sample_value("bridge_email_redactions_total", {"field": field_name}) or 0.0


# --- the MPAN gate over a real server --------------------------------------------------------------------------


def test_adapter_meets_the_protocol(plain_server: Server) -> None:
    assert isinstance(adapter(plain_server.port), Adapter)


def test_message_is_redacted_in_every_part_and_carries_case_and_link(plain_server: Server) -> None:
    csv = f"mpan,read\n{M},5\n12 3456 7890 126,7\n"
    body = payload(
        bcc=["audit@elexon.example"],
        attachments=[
            {"filename": f"reads_{M}.csv", "content_type": "text/csv", "content_b64": b64(csv)},
            {
                "filename": "reads.json",
                "content_type": "application/json",
                "content_b64": b64(f'{{"mpan": {BAD}, "reads": [{{"meter": "{M}", "kwh": 5}}]}}'),
            },
            {"filename": "note.xml", "content_type": "application/xml", "content_b64": b64(f"<m a='1'>{M}</m>")},
        ],
    )
    subject_before = redaction_count("subject")
    result = adapter(plain_server.port).deliver(operation(body))

    message = plain_server.capture.message()
    assert_no_mpan(message, plain_server.capture.envelopes[-1].content)  # type: ignore[arg-type]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert f"[MPAN removed - see case CS0012345: {PORTAL}]" in text.get_content()
    assert "CS0012345" in html.get_content() and PORTAL.replace("&", "&amp;") in html.get_content()
    assert html.get_content().count("<td>") == 3  # the table kept its cells
    assert str(message["Subject"]).strip().startswith("[CS0012345]")  # (folding may leave a leading space)
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == ["reads_MPAN-removed.csv", "reads.json", "note.xml"]
    audit = {entry["field"]: entry["count"] for entry in result.detail["audit"]}
    assert audit == {"subject": 1, "text": 2, "html": 2, "attachment_name": 1, "attachment_content": 5}
    assert redaction_count("subject") == subject_before + 1
    assert all(M not in str(entry) for entry in result.detail["audit"])


def test_json_attachment_stays_valid_json(plain_server: Server) -> None:
    import json

    document = {"mpan": int(BAD), "reads": [{"meter": M, "kwh": 5}], "count": 2}
    body = payload(
        attachments=[
            {"filename": "r.json", "content_type": "application/json", "content_b64": b64(json.dumps(document))}
        ]
    )
    adapter(plain_server.port).deliver(operation(body))
    part = next(plain_server.capture.message().iter_attachments())
    parsed = json.loads(part.get_content())
    assert parsed["count"] == 2 and parsed["reads"][0]["kwh"] == 5
    assert parsed["mpan"].startswith("[MPAN removed - see case CS0012345")


def test_text_attachment_without_mpan_keeps_its_bytes_and_charset(plain_server: Server) -> None:
    data = "caf\u00e9;2024-05-01;03700 106950\n".encode("latin-1")
    body = payload(
        attachments=[{"filename": "r.csv", "content_type": "text/csv; charset=latin-1", "content_b64": b64(data)}]
    )
    result = adapter(plain_server.port).deliver(operation(body))
    part = next(plain_server.capture.message().iter_attachments())
    assert part.get_payload(decode=True) == data
    assert part.get_content_charset() == "latin-1"
    assert "attachment_content" not in {entry["field"] for entry in result.detail["audit"]}


def test_envelope_headers_and_message_id(plain_server: Server) -> None:
    body = payload(
        bcc=["audit@elexon.example"],
        headers={"In-Reply-To": "<abc@partner.example>", "References": "<abc@partner.example>"},
    )
    mail = adapter(plain_server.port)
    first = mail.deliver(operation(body))
    again = mail.deliver(operation(body))  # a retry after an uncertain attempt
    envelope = plain_server.capture.envelopes[-1]
    assert sorted(envelope.rcpt_tos) == ["audit@elexon.example", "desk@partner.example", "shared@partner.example"]
    message = plain_server.capture.message()
    assert "Bcc" not in message and "audit@elexon.example" not in str(message)
    assert message["In-Reply-To"] == "<abc@partner.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert first.target_id == again.target_id == message["Message-ID"]
    other = mail.deliver(operation(body, key="route-1:CS0012345:4"))
    assert other.target_id != first.target_id


def test_rendered_template_goes_out_clean(plain_server: Server) -> None:
    rendered = render_email(
        "case_raised",
        {
            "case_number": "CS0012345",
            "summary": f"Reads rejected for {M}",
            "impact": "Settlement delayed",
            "references": [f"MPAN {BAD}", "2024-05-01T10:22:33Z"],
            "evidence": ["DIP status REJECTED"],
            "portal_url": PORTAL,
        },
    )
    body = payload(subject=rendered.subject, text=rendered.text, html=rendered.html)
    adapter(plain_server.port).deliver(operation(body))
    message = plain_server.capture.message()
    assert_no_mpan(message, plain_server.capture.envelopes[-1].content)  # type: ignore[arg-type]
    assert "2024-05-01T10:22:33Z" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_portal_link_built_from_template_and_sys_id(plain_server: Server) -> None:
    mail = adapter(
        plain_server.port,
        portal_url_template="https://mhhs.service-now.com/csm?id=csm_ticket&table=sn_customerservice_case&sys_id={sys_id}",
    )
    body = payload(portal_url=None, sys_id="9d385017c611228701d22104cc95c371", text="no link in here")
    mail.deliver(operation(body))
    text = plain_server.capture.message().get_body(("plain",))
    assert text is not None
    assert "sys_id=9d385017c611228701d22104cc95c371" in text.get_content()
    assert "Case CS0012345" in text.get_content()


# --- what is never sent -------------------------------------------------------------------------------------------


def _pdf_with(text: str) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 72 712 Td ("
        + text.encode()
        + b") Tj ET\nendstream\nendobj\n%%EOF\n"
    )


def _zip_with(name: str, content: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/pdf", _pdf_with(f"Meter {M}")),
        ("application/zip", _zip_with("reads.csv", f"mpan\n{M}\n")),
        ("application/zip", _zip_with(f"reads_{M}.csv", "no numbers")),
        ("application/octet-stream", f"raw {M} bytes".encode()),
    ],
    ids=["pdf", "zip-content", "zip-member-name", "octet-stream"],
)
def test_unredactable_attachment_with_mpan_is_never_sent(plain_server: Server, content_type: str, data: bytes) -> None:
    body = payload(attachments=[{"filename": "evidence.bin", "content_type": content_type, "content_b64": b64(data)}])
    with pytest.raises(PermanentError) as caught:
        adapter(plain_server.port).deliver(operation(body))
    assert "attachment" in str(caught.value) and content_type in str(caught.value)
    assert M not in str(caught.value)
    assert plain_server.capture.envelopes == []


def test_clean_binary_attachment_is_sent(plain_server: Server) -> None:
    data = _pdf_with("Settlement report 2024-05-01 INC0010001")
    body = payload(
        attachments=[{"filename": "report.pdf", "content_type": "application/pdf", "content_b64": b64(data)}]
    )
    adapter(plain_server.port).deliver(operation(body))
    part = next(plain_server.capture.message().iter_attachments())
    assert part.get_content() == data


def test_a_weaker_redactor_is_caught_by_the_rescan(plain_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_email_content, "redact_and_count", lambda text, note, markup=False: (text, 0))
    with pytest.raises(PermanentError, match=r"MPAN still present in .*not sent") as caught:
        adapter(plain_server.port).deliver(operation(payload()))
    assert M not in str(caught.value) and BAD not in str(caught.value)
    assert plain_server.capture.envelopes == []


# --- TLS and AUTH -------------------------------------------------------------------------------------------------


def test_starttls_with_auth_and_own_ca(starttls_server: Server, certificate: tuple[Path, Path]) -> None:
    mail = adapter(
        starttls_server.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        ca_bundle=str(certificate[0]),
    )
    assert "OK" in mail.check()
    mail.deliver(operation(payload()))
    assert starttls_server.capture.logins[-1] == USER.encode()
    message = starttls_server.capture.message()
    assert_no_mpan(message, starttls_server.capture.envelopes[-1].content)  # type: ignore[arg-type]
    assert "CS0012345" in message["Subject"]


def test_starttls_refuses_an_untrusted_certificate(starttls_server: Server) -> None:
    mail = adapter(starttls_server.port, security="starttls", username=USER, password=PASSWORD)
    with pytest.raises(PermanentError, match="certificate verification failed") as caught:
        mail.deliver(operation(payload()))
    assert PASSWORD not in str(caught.value)
    assert starttls_server.capture.envelopes == []


def test_wrong_password_is_permanent_and_secret_free(starttls_server: Server, certificate: tuple[Path, Path]) -> None:
    mail = adapter(
        starttls_server.port, security="starttls", username=USER, password="wrong-Pa55", ca_bundle=str(certificate[0])
    )
    with pytest.raises(PermanentError) as caught:
        mail.deliver(operation(payload()))
    assert caught.value.status == 535
    assert "wrong-Pa55" not in str(caught.value) and PASSWORD not in repr(caught.value)


def test_implicit_tls(tls_server: Server, certificate: tuple[Path, Path]) -> None:
    mail = adapter(tls_server.port, security="tls", ca_bundle=str(certificate[0]))
    mail.deliver(operation(payload()))
    assert len(tls_server.capture.envelopes) == 1


# --- failure classification -----------------------------------------------------------------------------------------


def test_550_bad_recipient_is_permanent_with_the_server_message(plain_server: Server) -> None:
    with pytest.raises(PermanentError) as caught:
        adapter(plain_server.port).deliver(operation(payload(to=["bad@partner.example"], cc=[])))
    assert caught.value.status == 550
    assert "5.1.1" in str(caught.value) and "User unknown" in str(caught.value)
    assert plain_server.capture.envelopes == []


def test_451_is_transient(plain_server: Server) -> None:
    with pytest.raises(TransientError) as caught:
        adapter(plain_server.port).deliver(operation(payload(to=["later@partner.example"], cc=[])))
    assert caught.value.status == 451


def test_partly_refused_recipients_are_reported_not_retried(plain_server: Server) -> None:
    result = adapter(plain_server.port).deliver(operation(payload(cc=["bad@partner.example"])))
    assert list(result.detail["refused"]) == ["bad@partner.example"]
    assert result.detail["refused"]["bad@partner.example"].startswith("550")
    assert plain_server.capture.envelopes[-1].rcpt_tos == ["desk@partner.example"]


def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientError, match="ConnectionRefusedError"):
        adapter(free_port()).deliver(operation(payload()))
    with pytest.raises(TransientError):
        adapter(free_port()).check()


class FakeSmtp:
    """An smtplib.SMTP stand-in with a failure knob, for failures a real server will not produce on cue."""

    def __init__(self, fail_on: str, error: BaseException) -> None:
        self.fail_on, self.error = fail_on, error
        self.calls: list[str] = []

    def _step(self, name: str) -> tuple[int, bytes]:
        self.calls.append(name)
        if name == self.fail_on:
            raise self.error
        return 250, b"OK"

    def ehlo(self, name: str = "") -> tuple[int, bytes]:
        return self._step("ehlo")

    def starttls(self, *, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
        return self._step("starttls")

    def login(self, user: str, password: str) -> tuple[int, bytes]:
        return self._step("login")

    def noop(self) -> tuple[int, bytes]:
        return self._step("noop")

    def send_message(self, msg: EmailMessage, from_addr: str | None = None, to_addrs: Any = None) -> dict[str, Any]:
        self._step("send")
        return {}

    def quit(self) -> tuple[int, bytes]:
        return self._step("quit")

    def close(self) -> None:
        self.calls.append("close")


@pytest.mark.parametrize(
    ("fail_on", "error", "expected"),
    [
        ("ehlo", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), TransientError),
        ("send", TimeoutError("timed out"), TransientError),
        ("send", smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam"), PermanentError),
        ("send", smtplib.SMTPDataError(421, b"4.4.2 Timeout"), TransientError),
        ("send", smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "x@y"), PermanentError),
        ("starttls", smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), PermanentError),
        ("login", smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure"), TransientError),
    ],
)
def test_failures_classified(fail_on: str, error: BaseException, expected: type[Exception]) -> None:
    fake = FakeSmtp(fail_on, error)
    settings = Settings(
        host="smtp.partner.example", from_address="desk@elexon.example", username=USER, password=SecretStr(PASSWORD)
    )
    mail = EmailAdapter("partner-mail", settings, smtp_factory=lambda s, c: fake)
    with pytest.raises(expected) as caught:
        mail.deliver(operation(payload()))
    assert type(caught.value) is expected
    assert PASSWORD not in str(caught.value)
    assert fake.calls[-1] == "close"


def test_a_failed_quit_after_sending_is_still_delivered() -> None:
    fake = FakeSmtp("quit", smtplib.SMTPServerDisconnected("gone"))
    settings = Settings(host="smtp.partner.example", from_address="desk@elexon.example")
    mail = EmailAdapter("partner-mail", settings, smtp_factory=lambda s, c: fake)
    assert mail.deliver(operation(payload())).target_id
    assert fake.calls == ["ehlo", "starttls", "ehlo", "send", "quit", "close"]


# --- bad configuration and bad payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"host": "smtp.example.com", "security": "none", "from_address": "a@b.example"}, "only allowed"),
        ({"host": "smtp.example.com", "from_address": "a@b.example", "username": "u"}, "go together"),
        ({"host": "smtp.example.com", "from_address": "not an address"}, "from_address"),
        ({"host": "smtp.example.com", "from_address": "a@b.example", "verify": False}, "verify"),
        ({"host": "smtp.example.com", "from_address": "a@b.example", "ca_bundle": "/no/such.pem"}, "ca_bundle"),
        ({"host": "smtp.example.com", "from_address": "a@b.example", "portal_url_template": "http://x/{id}"}, "portal"),
    ],
)
def test_config_problems_are_reported_with_their_path(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_config("partner-mail", settings)
    assert any(p.startswith("targets.partner-mail") for p in caught.value.problems)
    assert problem in str(caught.value)


def test_config_errors_never_show_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        from_config("m", {"host": "h.example", "from_address": "bad", "password": "hunter2-Secret"})
    assert "hunter2-Secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "action", "problem"),
    [
        ({"case_number": None}, "send_email", "case_number"),
        ({"to": []}, "send_email", "to"),
        ({"to": ["a@b.example\r\nBcc: x@y.example"]}, "send_email", "to"),
        ({"headers": {"Bcc": "spy@evil.example"}}, "send_email", "Bcc"),
        ({"headers": {"X-Bad Name": "v"}}, "send_email", "X-Bad Name"),
        ({"headers": {"X-Note": "a\r\nBcc: spy@evil.example"}}, "send_email", "line break"),
        (
            {"attachments": [{"filename": "a", "content_type": "text/plain", "content_b64": "***"}]},
            "send_email",
            "base64",
        ),
        ({"unexpected": 1}, "send_email", "unexpected"),
        ({"portal_url": None}, "send_email", "portal_url"),
        ({}, "create", "cannot"),
    ],
)
def test_bad_payloads_are_permanent(overrides: dict[str, Any], action: str, problem: str) -> None:
    fake = FakeSmtp("never", RuntimeError())
    mail = EmailAdapter(
        "m", Settings(host="h.example", from_address="desk@elexon.example"), smtp_factory=lambda s, c: fake
    )
    body = {k: v for k, v in {**payload(), **overrides}.items() if v is not None}
    with pytest.raises(PermanentError, match=problem):
        mail.deliver(operation(body, action=action))
    assert "send" not in fake.calls


def test_payload_errors_never_echo_values() -> None:
    mail = EmailAdapter("m", Settings(host="h.example", from_address="desk@elexon.example"))
    with pytest.raises(PermanentError) as caught:
        mail.deliver(operation(payload(subject=["MPAN", M])))
    assert M not in str(caught.value)


def test_lookup_cannot_know_and_close_is_harmless(plain_server: Server) -> None:
    mail = adapter(plain_server.port)
    assert mail.lookup(operation(payload())) is None
    mail.close()
