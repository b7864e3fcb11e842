"""Inbound email: a shared mailbox read over IMAP (I/O only; :mod:`bridge.mappings.inbound_email` parses).

The contract the engine relies on:

- ``fetch_new`` changes nothing on the server (the folder is opened read-only with EXAMINE, bodies are read
  with ``BODY.PEEK[]``), so a crash before ``mark_handled`` means the message comes again on the next poll,
  and the engine's Message-ID dedupe absorbs it.
- ``mark_handled(uid)`` is called only once the mail's event is durable in the bridge's inbox; it marks the
  message read and moves it to ``processed_folder``. ``quarantine(uid, reason)`` moves mail that matched
  no case to ``quarantine_folder`` with the reason stamped in an ``X-Bridge-Quarantine`` header, where
  ``list_quarantine`` (and any mail client) shows it to an admin. Nothing is ever deleted unseen.
- Both are idempotent: a UID that is no longer in the folder (already moved) returns ``False``.
- ``wait_for_new`` blocks in IDLE (or polls) until mail newer than the last ``fetch_new`` arrives.

Folder names are written with ``/`` and translated to the server's own delimiter and personal namespace
(Dovecot's default is ``.``). TLS verification is always on. One reader is one connection; it is not
thread-safe. After a connection error the call raises TransientError and the next call reconnects.
"""

from __future__ import annotations

import imaplib
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from imapclient import IMAPClient
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    model_validator,
)

from bridge.adapters._imap_errors import classify_imap_error
from bridge.adapters._imap_quarantine import SUMMARY_FETCH, QuarantineEntry, header_block, stamped, summary
from bridge.errors import ConfigError, DeliveryError, PermanentError, TransientError
from bridge.mappings.inbound_email import InboundMail, parse_headers, parse_mail
from bridge.validation import problems

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_MAX_IDLE_SECONDS = 25 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes


class Settings(BaseModel):
    """``sources.<name>`` for ``kind: imap``. Folder paths use ``/``, whatever the server's delimiter."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="default 993 (ssl) or 143")
    ssl: bool = Field(default=True, description="implicit TLS (IMAPS)")
    starttls: bool = Field(default=False, description="plain connection upgraded with STARTTLS; needs ssl: false")
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    oauth2_token: SecretStr | None = Field(default=None, description="XOAUTH2 access token (or inject a provider)")
    folder: str = "INBOX"
    processed_folder: str = "Bridge/Processed"
    quarantine_folder: str = "Bridge/Quarantine"
    ca_bundle: FilePath | None = Field(default=None, description="CA certificates to trust instead of the system store")
    timeout: float = Field(default=30.0, gt=0, le=600)
    idle: bool = Field(default=True, description="wait with IDLE when the server offers it")
    poll_interval: float = Field(default=15.0, gt=0, le=3600, description="between checks when not idling")
    max_message_bytes: int = Field(default=25 * 1024 * 1024, gt=0, description="bigger mail: headers only")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.ssl and self.starttls:
            raise ValueError("choose ssl (implicit TLS) or starttls, not both")
        if not self.ssl and not self.starttls and self.host not in _LOCAL_HOSTS:
            raise ValueError("an unencrypted connection is only allowed to localhost")
        if self.password is not None and self.oauth2_token is not None:
            raise ValueError("give password or oauth2_token, not both")
        if len({self.folder.upper(), self.processed_folder.upper(), self.quarantine_folder.upper()}) != 3:
            raise ValueError("folder, processed_folder and quarantine_folder must be three different folders")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.ssl else 143)


ClientFactory = Callable[[Settings, ssl.SSLContext], IMAPClient]
TokenProvider = Callable[[], str]


def default_client_factory(settings: Settings, context: ssl.SSLContext) -> IMAPClient:
    """Connect (implicit TLS, or STARTTLS before anything else is said); every socket has the timeout."""
    client = IMAPClient(
        settings.host, settings.effective_port, ssl=settings.ssl, ssl_context=context, timeout=settings.timeout
    )
    if settings.starttls:
        client.starttls(context)
    return client


class MailboxReader:
    """Reads one shared mailbox; see the module docstring for what each call promises."""

    def __init__(
        self,
        settings: Settings,
        *,
        name: str = "imap",
        client_factory: ClientFactory | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if settings.password is None and settings.oauth2_token is None and token_provider is None:
            raise ConfigError([f"sources.{name}: password, oauth2_token or a token provider is required"])
        self.name = name
        self.settings = settings
        self._factory = client_factory or default_client_factory
        self._token_provider = token_provider
        self._client: IMAPClient | None = None
        self._namespace: tuple[str, str | None] | None = None
        self._uidvalidity: int | None = None
        self._high_uid = 0

    def __enter__(self) -> MailboxReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the public calls ----------------------------------------------------------------------------------

    def fetch_new(self, limit: int = 50) -> list[InboundMail]:
        """The oldest messages in the folder (at most ``limit``, and about ``max_message_bytes`` in all, at least
        one), parsed, each with its ``uid``. The server is not changed."""
        with self._guard("fetch"):
            client = self._session()
            self._open_source(readonly=True)
            uids = sorted(client.search(["UNDELETED"]))[:limit]
            mails = self._fetch_mails(client, uids) if uids else []
        self._high_uid = max([self._high_uid, *(mail.uid or 0 for mail in mails)])
        return mails

    def mark_handled(self, uid: int) -> bool:
        """Mark read and move to the processed folder; ``False`` if the message is no longer in the folder."""
        with self._guard("mark_handled"):
            return self._move_out(uid, self.settings.processed_folder, seen=True)

    def quarantine(self, uid: int, reason: str) -> bool:
        """Move to the quarantine folder with ``reason`` stamped in; ``False`` if the message is already gone."""
        with self._guard("quarantine"):
            client = self._session()
            self._open_source(readonly=False, check_validity=True)
            found = client.fetch([uid], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]).get(uid)
            if not found:
                return False
            destination = self._ensure_folder(self.settings.quarantine_folder)
            raw = found[b"BODY[]"]
            if not self._holds_message_id(destination, raw):
                flags = [f for f in found[b"FLAGS"] if f != b"\\Recent"]
                client.append(destination, stamped(raw, reason), flags=flags, msg_time=found[b"INTERNALDATE"])
            self._open_source(readonly=False, check_validity=True)
            self._delete(client, uid)
            return True

    def list_quarantine(self, limit: int = 100) -> list[QuarantineEntry]:
        """The newest ``limit`` quarantined mails, newest first; an empty list if nothing was ever quarantined."""
        with self._guard("list_quarantine"):
            client = self._session()
            folder = self._mailbox(self.settings.quarantine_folder)
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search(["ALL"]))[-limit:] if limit > 0 else []
            fetched = client.fetch(uids, SUMMARY_FETCH) if uids else {}
        return [summary(uid, fetched[uid]) for uid in sorted(fetched, reverse=True)]

    def wait_for_new(self, timeout: float) -> bool:
        """Block until mail newer than the last ``fetch_new`` arrives (``True``) or ``timeout`` passes."""
        with self._guard("wait"):
            client = self._session()
            self._open_source(readonly=True)
            if self._has_new(client):
                return True
            if self.settings.idle and client.has_capability("IDLE"):
                return self._idle(client, timeout)
            return self._poll(client, timeout)

    def check(self) -> str:
        """Log in and open the folder; one line for ``bridge check``, a DeliveryError if that fails."""
        with self._guard("check"):
            client = self._session()
            info = self._select(self.settings.folder, readonly=True)
            idle = "IDLE" if client.has_capability("IDLE") else "polling"
        security = "tls" if self.settings.ssl else "starttls" if self.settings.starttls else "plain"
        how = "XOAUTH2" if self._uses_oauth2 else "password"
        return (
            f"{self.name}: IMAP {self.settings.host}:{self.settings.effective_port} ({security}, {how} as "
            f"{self.settings.username}) {self.settings.folder}: {info.get(b'EXISTS', 0)} message(s), {idle}"
        )

    def close(self) -> None:
        """Log out; a connection that is already broken is simply dropped."""
        client, self._client = self._client, None
        if client is not None:
            with suppress(imaplib.IMAP4.error, OSError):
                client.logout()
            with suppress(imaplib.IMAP4.error, OSError):
                client.shutdown()

    # --- connection ----------------------------------------------------------------------------------------

    @property
    def _uses_oauth2(self) -> bool:
        return self.settings.password is None

    def _session(self) -> IMAPClient:
        if self._client is None:
            client = self._factory(self.settings, _tls_context(self.settings))
            try:
                self._login(client)
            except BaseException:
                with suppress(imaplib.IMAP4.error, OSError):
                    client.shutdown()
                raise
            self._client, self._namespace = client, None
        return self._client

    def _login(self, client: IMAPClient) -> None:
        user = self.settings.username
        if self.settings.password is not None:
            client.login(user, self.settings.password.get_secret_value())
        elif self._token_provider is not None:
            client.oauth2_login(user, self._token_provider())
        elif self.settings.oauth2_token is not None:
            client.oauth2_login(user, self.settings.oauth2_token.get_secret_value())

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Classify every IMAP or socket failure once; a failed connection is dropped, the next call reconnects."""
        try:
            yield
        except DeliveryError:
            raise
        except (imaplib.IMAP4.error, OSError) as exc:
            self._drop()
            raise self._classify(exc, action) from None

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(imaplib.IMAP4.error, OSError):
                client.shutdown()

    def _classify(self, exc: BaseException, action: str) -> DeliveryError:
        error = classify_imap_error(exc, f"{self.name} {action} ({self.settings.username})")
        for secret in (self.settings.password, self.settings.oauth2_token):
            if secret is not None and secret.get_secret_value() in str(error):
                return type(error)(str(error).replace(secret.get_secret_value(), "***"))
        return error

    # --- folders -------------------------------------------------------------------------------------------

    def _mailbox(self, path: str) -> str:
        """``Bridge/Processed`` in the server's terms: its delimiter, under its personal namespace prefix."""
        if path.upper() == "INBOX":
            return "INBOX"
        prefix, delimiter = self._server_namespace()
        name = delimiter.join(path.split("/")) if delimiter else path
        return name if not prefix or name.startswith(prefix) else prefix + name

    def _server_namespace(self) -> tuple[str, str | None]:
        if self._namespace is None:
            client = self._session()
            if client.has_capability("NAMESPACE") and client.namespace().personal:
                prefix, delimiter = client.namespace().personal[0]
            else:
                listed = client.list_folders("", "")
                prefix, delimiter = "", (listed[0][1] if listed else "/")
            self._namespace = (_text(prefix), _text(delimiter) if delimiter else None)
        return self._namespace

    def _ensure_folder(self, path: str) -> str:
        """Create (and subscribe) a folder the first time it is needed; a concurrent create is fine."""
        client = self._session()
        name = self._mailbox(path)
        if not client.folder_exists(name):
            try:
                client.create_folder(name)
            except imaplib.IMAP4.error:
                if not client.folder_exists(name):
                    raise
            with suppress(imaplib.IMAP4.error):
                client.subscribe_folder(name)
        return name

    def _open_source(self, *, readonly: bool, check_validity: bool = False) -> None:
        """Select the watched folder; UIDs from an earlier fetch are meaningless if its UIDVALIDITY changed."""
        path = self.settings.folder
        info = self._select(path, readonly=readonly)
        validity = int(info.get(b"UIDVALIDITY", 0))
        if validity != self._uidvalidity:
            known, self._uidvalidity, self._high_uid = self._uidvalidity, validity, 0
            if check_validity and known is not None:
                raise TransientError(f"{self.name}: {path} was recreated (UIDVALIDITY changed); fetch again")

    def _select(self, path: str, *, readonly: bool) -> dict[bytes, Any]:
        """Select a folder; one that does not exist is a configuration problem, not worth retrying."""
        client = self._session()
        try:
            return dict(client.select_folder(self._mailbox(path), readonly=readonly))
        except imaplib.IMAP4.error:
            if not client.folder_exists(self._mailbox(path)):
                raise PermanentError(f"{self.name}: folder {path!r} does not exist on the server") from None
            raise

    # --- messages ------------------------------------------------------------------------------------------

    def _fetch_mails(self, client: IMAPClient, uids: list[int]) -> list[InboundMail]:
        """Sizes first, so an oversized message is read by its headers only, then the rest in one FETCH."""
        sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()}
        uids = _within_budget([uid for uid in uids if uid in sizes], sizes, self.settings.max_message_bytes)
        small = [uid for uid in uids if sizes[uid] <= self.settings.max_message_bytes]
        large = [uid for uid in uids if sizes[uid] > self.settings.max_message_bytes]
        mails: dict[int, InboundMail] = {}
        for uid, data in (client.fetch(small, ["BODY.PEEK[]"]) if small else {}).items():
            mails[uid] = parse_mail(data[b"BODY[]"]).model_copy(update={"uid": uid})
        for uid, data in (client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}).items():
            mails[uid] = parse_headers(data[b"BODY[HEADER]"], size=sizes[uid]).model_copy(update={"uid": uid})
        return [mails[uid] for uid in uids if uid in mails]

    def _move_out(self, uid: int, path: str, *, seen: bool) -> bool:
        client = self._session()
        destination = self._ensure_folder(path)
        self._open_source(readonly=False, check_validity=True)
        if not client.fetch([uid], ["FLAGS"]).get(uid):
            return False
        if seen:
            client.add_flags([uid], [b"\\Seen"])
        if client.has_capability("MOVE"):
            client.move([uid], destination)
        else:
            client.copy([uid], destination)
            self._delete(client, uid)
        return True

    def _delete(self, client: IMAPClient, uid: int) -> None:
        """Expunge this one message (UID EXPUNGE when the server has UIDPLUS)."""
        client.add_flags([uid], [b"\\Deleted"])
        client.expunge([uid] if client.has_capability("UIDPLUS") else None)

    def _holds_message_id(self, folder: str, raw: bytes) -> bool:
        """Whether an earlier, interrupted quarantine already copied this message (same Message-ID)."""
        message_id = parse_mail(header_block(raw)).message_id
        if message_id.endswith("@bridge.invalid>"):
            return False
        client = self._session()
        client.select_folder(folder, readonly=True)
        return bool(client.search(["HEADER", "Message-ID", message_id]))

    def _has_new(self, client: IMAPClient) -> bool:
        return any(uid > self._high_uid for uid in client.search(["UNDELETED"]))

    def _idle(self, client: IMAPClient, timeout: float) -> bool:
        deadline = time.monotonic() + min(timeout, _MAX_IDLE_SECONDS)
        client.idle()
        try:
            while (left := deadline - time.monotonic()) > 0:
                responses = client.idle_check(timeout=min(left, 60.0))
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses if isinstance(r, tuple)):
                    return True
            return False
        finally:
            client.idle_done()

    def _poll(self, client: IMAPClient, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, self.settings.poll_interval))
            client.noop()
            if self._has_new(client):
                return True
        return False


def _within_budget(uids: list[int], sizes: Mapping[int, int], budget: int) -> list[int]:
    """The first UIDs whose bodies add up to ``budget`` bytes (at least one), so one FETCH stays bounded in
    memory; an oversized message costs nothing here, since only its headers are read."""
    chosen: list[int] = []
    total = 0
    for uid in uids:
        cost = sizes[uid] if sizes[uid] <= budget else 0
        if chosen and total + cost > budget:
            break
        chosen.append(uid)
        total += cost
    return chosen


def _tls_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.ca_bundle) if settings.ca_bundle else None
    return ssl.create_default_context(cafile=cafile)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def from_config(name: str, settings: Mapping[str, Any], **kwargs: Any) -> MailboxReader:
    """Build the reader; every configuration problem is reported at once, with its path."""
    try:
        return MailboxReader(Settings.model_validate(settings), name=name, **kwargs)
    except ValidationError as exc:
        raise ConfigError(problems(exc, f"sources.{name}")) from None


__all__ = [
    "ClientFactory",
    "MailboxReader",
    "QuarantineEntry",
    "Settings",
    "TokenProvider",
    "classify_imap_error",
    "default_client_factory",
    "from_config",
]
