"""Outbound email over SMTP, and the MPAN gate: no MPAN leaves the bridge by email (Ops Manual 10.5.5).

The gate sits here, at the last step before the wire, so no mapping, template or forwarded comment can get
round it. Every part is redacted (subject, text, HTML, attachment names, text-like attachment content), the
MPAN replaced by a note with the case number and portal link; the built message then goes through the last
gate (:mod:`bridge.mappings.mpan_gate`, independent of the redactor), header by header and part by part,
decoded, and a message that still holds anything MPAN-shaped (a PDF or ZIP we cannot edit, a form the redactor
missed) is refused with :class:`PermanentError`: dead-lettered with the reason (where, never the digits),
audited (``email.refused``), counted (``bridge_email_refused_total``), never sent.

Payload of ``send_email``::

    {to, cc?, bcc?, subject, text, html?, case_number, portal_url? (or sys_id + portal_url_template),
     attachments?: [{filename, content_type, content_b64}], headers?: {In-Reply-To, References, ...},
     message_id?}

The Message-ID is derived from the idempotency key, so a resend after an uncertain attempt is recognisable.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Literal, Protocol
from urllib.parse import quote

from prometheus_client import Counter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.adapters import _email_content as content
from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import ConfigError, DeliveryError, PermanentError, TransientError
from bridge.mappings.redaction import redact_mpans
from bridge.validation import problems

REDACTIONS = Counter(
    "bridge_email_redactions_total", "MPANs removed from outbound email, by the field they were in", ["field"]
)
REFUSED = Counter("bridge_email_refused_total", "Emails the last MPAN gate refused to send (dead-lettered)")
FIELDS = ("subject", "text", "html", "attachment_name", "attachment_content")
for _field in FIELDS:  # export every series from the start, so a dashboard sees 0 rather than nothing
    REDACTIONS.labels(_field)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
_EXTRA_HEADERS = frozenset({"in-reply-to", "references", "reply-to", "auto-submitted", "x-priority"})


class Settings(BaseModel):
    """``targets.<name>`` for ``kind: email``. TLS verification is always on; ``none`` is for a local relay."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="default 587 (starttls), 465 (tls), 25 (none)")
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    timeout: float = Field(default=30.0, gt=0, le=600)
    ca_bundle: FilePath | None = Field(default=None, description="CA certificates to trust instead of the system store")
    portal_url_template: str | None = Field(
        default=None, description="e.g. https://.../csm?id=csm_ticket&sys_id={sys_id}"
    )
    helo_name: str | None = Field(default=None, description="name sent in EHLO; default: this host's FQDN")
    message_id_domain: str | None = Field(default=None, description="default: the domain of from_address")

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not content.is_address(value):
            raise ValueError("from_address must be one email address")
        return value

    @field_validator("portal_url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("https://") or "{sys_id}" not in value):
            raise ValueError("portal_url_template must be an https:// URL containing {sys_id}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.security == "none" and self.host not in _LOCAL_HOSTS:
            raise ValueError("security 'none' is only allowed for a relay on localhost")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or _DEFAULT_PORTS[self.security]


class SmtpClient(Protocol):
    """The part of :class:`smtplib.SMTP` the adapter uses; tests inject fakes with failure knobs."""

    def ehlo(self, name: str = "") -> tuple[int, bytes]: ...
    def starttls(self, *, context: ssl.SSLContext | None = None) -> tuple[int, bytes]: ...
    def login(self, user: str, password: str) -> tuple[int, bytes]: ...
    def noop(self) -> tuple[int, bytes]: ...
    def send_message(
        self, msg: EmailMessage, from_addr: str | None = None, to_addrs: Sequence[str] | None = None
    ) -> dict[str, tuple[int, bytes]]: ...
    def quit(self) -> tuple[int, bytes]: ...
    def close(self) -> None: ...


SmtpFactory = Callable[[Settings, "ssl.SSLContext | None"], SmtpClient]


def default_smtp_factory(settings: Settings, context: ssl.SSLContext | None) -> SmtpClient:
    """Connect (implicit TLS for ``tls``); every connection has the configured timeout."""
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.effective_port,
            local_hostname=settings.helo_name,
            timeout=settings.timeout,
            context=context,
        )
    return smtplib.SMTP(
        settings.host, settings.effective_port, local_hostname=settings.helo_name, timeout=settings.timeout
    )


class EmailPayload(BaseModel):
    """What a mapping plans for ``send_email``; unknown keys are a mapping bug, so they are refused."""

    model_config = ConfigDict(extra="forbid")
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    subject: str
    text: str
    html: str | None = None
    attachments: list[content.Attachment] = Field(default_factory=list)
    case_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    portal_url: str | None = None
    sys_id: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    message_id: str | None = Field(default=None, pattern=r"^<[^<>\s@]+@[^<>\s@]+>$")

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        bad = sum(1 for v in values if not content.is_address(v))
        if bad:
            raise ValueError(f"{bad} address(es) are not valid email addresses")
        return values


class EmailAdapter:
    """Delivers ``send_email`` operations through one SMTP relay, one connection per message."""

    def __init__(self, name: str, settings: Settings, *, smtp_factory: SmtpFactory | None = None) -> None:
        self.name = name
        self.settings = settings
        self._factory = smtp_factory or default_smtp_factory

    def deliver(self, op: Operation) -> DeliveryResult:
        """Build, redact, re-scan, send; the audit detail says which fields lost how many MPANs."""
        if op.action != "send_email":
            raise PermanentError(f"email target {self.name} cannot {op.action!r}")
        payload = _parse_payload(op.payload)
        message_id = payload.message_id or self._message_id(op.idempotency_key)
        built = self._build(payload, message_id)
        self._last_gate(built, payload)
        refused = self._send(built.message, [*payload.to, *payload.cc, *payload.bcc])
        for field, count in built.counts.items():
            REDACTIONS.labels(field).inc(count)
        detail: dict[str, Any] = {"message_id": message_id, "audit": built.audit()}
        if refused:
            detail["refused"] = refused
        return DeliveryResult(target_id=message_id, detail=detail)

    def lookup(self, op: Operation) -> str | None:
        """SMTP cannot say whether an earlier attempt was delivered; a resend carries the same Message-ID."""
        return None

    def check(self) -> str:
        with self._errors("check"), self._session() as client:
            client.noop()
        auth = f", as {self.settings.username}" if self.settings.username else ""
        return (
            f"{self.name}: SMTP {self.settings.host}:{self.settings.effective_port} ({self.settings.security}{auth}) OK"
        )

    def close(self) -> None:
        """Nothing to release: each delivery opens and closes its own connection."""

    def _last_gate(self, built: content.Built, payload: EmailPayload) -> None:
        """Fail closed: a message still holding anything MPAN-shaped is dead-lettered and audited, never sent."""
        where = content.gate_findings(built.message)
        if not where:
            return
        REFUSED.inc()
        reason = content.refusal_reason(where)
        audit = {"action": "email.refused", "subject": payload.case_number, "target": self.name, "where": where}
        raise PermanentError(reason, audit=[audit])

    def _build(self, payload: EmailPayload, message_id: str) -> content.Built:
        """Compose and redact; a payload the ``email`` package refuses is a mapping bug, never worth a retry."""
        try:
            return self._compose(payload, message_id)
        except (ValueError, TypeError, MessageError) as exc:
            raise PermanentError(f"send_email: cannot build the message: {type(exc).__name__}") from None

    def _compose(self, payload: EmailPayload, message_id: str) -> content.Built:
        portal_url = self._portal_url(payload)
        redactor = content.Redactor(case_number=payload.case_number, portal_url=portal_url)
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = ", ".join(payload.to)
        if payload.cc:
            message["Cc"] = ", ".join(payload.cc)
        message["Subject"] = redactor.subject(payload.subject)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Bridge-Case"] = payload.case_number
        _extra_headers(message, payload.headers)
        content.fill_body(
            message, text=payload.text, html=payload.html, attachments=payload.attachments, redactor=redactor
        )
        return content.Built(message, redactor.counts)

    def _portal_url(self, payload: EmailPayload) -> str:
        if payload.portal_url:
            return payload.portal_url
        template = self.settings.portal_url_template
        if template and payload.sys_id:
            return template.replace("{sys_id}", quote(payload.sys_id, safe=""))
        raise PermanentError("send_email needs portal_url, or sys_id with the target's portal_url_template")

    def _message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
        domain = self.settings.message_id_domain or parseaddr(self.settings.from_address)[1].rpartition("@")[2]
        return f"<bridge.{digest}@{domain}>"

    def _send(self, message: EmailMessage, recipients: list[str]) -> dict[str, str]:
        with self._errors("send"), self._session() as client:
            refused = client.send_message(message, from_addr=self.settings.from_address, to_addrs=recipients)
        return {addr: f"{code} {_text(reply)}" for addr, (code, reply) in refused.items()}

    @contextmanager
    def _session(self) -> Iterator[SmtpClient]:
        """Connect, EHLO, STARTTLS (verified), log in; QUIT afterwards, and a failed QUIT changes nothing."""
        settings = self.settings
        context = _tls_context(settings) if settings.security != "none" else None
        client = self._factory(settings, context)
        try:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username and settings.password:
                client.login(settings.username, settings.password.get_secret_value())
            yield client
            with suppress(smtplib.SMTPException, OSError):
                client.quit()
        finally:
            client.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (smtplib.SMTPException, OSError) as exc:
            raise self._classify(exc, action) from None

    def _classify(self, exc: BaseException, action: str) -> DeliveryError:
        error = classify_smtp_error(exc, f"{self.name} {action}")
        secret = self.settings.password.get_secret_value() if self.settings.password else None
        if secret and secret in str(error):
            return type(error)(str(error).replace(secret, "***"), status=error.status)
        return error


def classify_smtp_error(exc: BaseException, where: str) -> DeliveryError:
    """The one table: 4xx replies, timeouts and dropped connections retry; 5xx replies and TLS refusals don't."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = exc.recipients.values()
        cls: type[DeliveryError] = TransientError if all(400 <= c < 500 for c, _ in replies) else PermanentError
        detail = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items())
        return cls(f"{where}: recipients refused: {detail}", status=min(c for c, _ in replies))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        cls = PermanentError if 500 <= code < 600 else TransientError
        return cls(f"{where}: SMTP {code} {_text(exc.smtp_error)}", status=code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentError(f"{where}: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(f"{where}: TLS certificate verification failed: {exc.verify_message}")
    return TransientError(f"{where}: {type(exc).__name__}: {_text(str(exc))}")


def _text(reply: bytes | str) -> str:
    """A server's reply, decoded, short, and never carrying an MPAN into a log or dead letter."""
    value = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return redact_mpans(" ".join(value.split()))[:300]


def _tls_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.ca_bundle) if settings.ca_bundle else None
    return ssl.create_default_context(cafile=cafile)


def _extra_headers(message: EmailMessage, headers: Mapping[str, str]) -> None:
    """Threading headers only (plus ``X-*``): a mapping cannot forge From, To or Bcc."""
    for name, value in headers.items():
        lowered = name.lower()
        if not _HEADER_NAME_RE.fullmatch(name) or (lowered not in _EXTRA_HEADERS and not lowered.startswith("x-")):
            raise PermanentError(f"send_email: header {name!r} may not be set by a mapping")
        if "\r" in value or "\n" in value:
            raise PermanentError(f"send_email: header {name!r} contains a line break")
        message[name] = value


def _parse_payload(payload: Mapping[str, Any]) -> EmailPayload:
    """Validate; the error names fields and problems only, never the values (they may hold an MPAN)."""
    try:
        return EmailPayload.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise PermanentError(f"send_email payload invalid: {problems}") from None


def from_config(name: str, settings: Mapping[str, Any]) -> EmailAdapter:
    """Build the adapter; every configuration problem is reported at once, with its path."""
    try:
        return EmailAdapter(name, Settings.model_validate(settings))
    except ValidationError as exc:
        raise ConfigError(problems(exc, f"targets.{name}")) from None


__all__ = [
    "FIELDS",
    "REDACTIONS",
    "REFUSED",
    "EmailAdapter",
    "EmailPayload",
    "Settings",
    "SmtpClient",
    "SmtpFactory",
    "classify_smtp_error",
    "default_smtp_factory",
    "from_config",
]
