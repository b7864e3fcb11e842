"""The mailbox reader against a real Dovecot (``scripts/imap-test-server``): TLS and logins, the fetch /
handle / quarantine contract, IDLE, and the whole path of a partner's reply from mailbox to case comment."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from pydantic import SecretStr

from bridge.adapters.imap import MailboxReader, Settings, classify_imap_error, from_config
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.mappings.inbound_email import case_reference, parse_mail, to_comment
from tests.support import imap as imap_support
from tests.support.imap import ImapServer, deliver, selectable_folders

imap_server = imap_support.imap_server  # the session's Dovecot, shared by every test here
pytestmark = pytest.mark.e2e

DESK = "desk@example.com"
MPAN = "1234567890126"  # a valid MPAN core (check digit 6)


def _mail(subject: str, body: str = "Hello desk", *, msgid: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Priya Patel <priya@supplier.example>"
    message["To"] = DESK
    message["Subject"] = subject
    message["Date"] = "Tue, 05 Mar 2024 14:02:00 +0000"
    message["Message-ID"] = msgid or f"<{time.monotonic_ns()}@supplier.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def server(imap_server: ImapServer) -> ImapServer:
    imap_server.reset(DESK)
    return imap_server


def _settings(server: ImapServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.ssl_port,
        "username": DESK,
        "password": SecretStr(server.users[DESK]),
        "ca_bundle": server.ca_cert,
        "timeout": 10,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def reader(server: ImapServer) -> Iterator[MailboxReader]:
    with MailboxReader(_settings(server), name="desk") as mailbox:
        yield mailbox


def _flags_and_folders(server: ImapServer) -> tuple[dict[str, list[set[bytes]]], list[str]]:
    """What a person looking at the mailbox would see: each folder's messages' flags."""
    client = server.connect(DESK)
    try:
        folders = selectable_folders(client)
        seen: dict[str, list[set[bytes]]] = {}
        for name in folders:
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS"]).values() if uids else []
            seen[name] = [set(d[b"FLAGS"]) - {b"\\Recent"} for d in fetched]
        return seen, folders
    finally:
        client.logout()


# --- connecting and logging in -----------------------------------------------------------------------------


def test_imaps_login_verified_against_the_generated_ca(reader: MailboxReader) -> None:
    line = reader.check()
    assert "tls, password as desk@example.com" in line
    assert "IDLE" in line


def test_starttls_on_the_plain_port(server: ImapServer) -> None:
    settings = _settings(server, port=server.port, ssl=False, starttls=True)
    with MailboxReader(settings) as mailbox:
        assert "(starttls, password" in mailbox.check()


def test_certificate_not_trusted_is_a_permanent_error(server: ImapServer) -> None:
    with MailboxReader(_settings(server, ca_bundle=None)) as mailbox, pytest.raises(PermanentError) as caught:
        mailbox.check()
    assert "TLS certificate verification failed" in str(caught.value)


def test_xoauth2_login_with_a_token_provider(server: ImapServer) -> None:
    settings = _settings(server, password=None)
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return "desk-oauth-token"

    with MailboxReader(settings, token_provider=token) as mailbox:
        assert "XOAUTH2 as desk@example.com" in mailbox.check()
    assert calls == [1]


def test_settings_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        from_config("desk", {"host": "imap.example.com", "username": "", "ssl": True, "starttls": True, "x": 1})
    problems = "\n".join(caught.value.problems)
    assert "sources.desk.username" in problems
    assert "sources.desk.x" in problems
    with pytest.raises(ConfigError, match="only allowed to localhost"):
        from_config("desk", {"host": "imap.example.com", "username": "u", "password": "p", "ssl": False})
    with pytest.raises(ConfigError, match="password, oauth2_token or a token provider"):
        from_config("desk", {"host": "imap.example.com", "username": "u"})


def test_a_missing_folder_is_a_permanent_error(server: ImapServer) -> None:
    settings = _settings(server, folder="Shared/Nowhere")
    with MailboxReader(settings) as mailbox, pytest.raises(PermanentError, match="'Shared/Nowhere' does not exist"):
        mailbox.fetch_new()


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (LoginError("[AUTHENTICATIONFAILED] Authentication failed."), PermanentError),
        (IMAPClientError("append failed: [OVERQUOTA] Quota exceeded"), TransientError),
        (IMAPClientError("create failed: [NOPERM] Permission denied"), PermanentError),
        (IMAPClientError("fetch failed: [UNAVAILABLE] Internal error"), TransientError),
        (IMAPClientAbortError("socket error: EOF"), TransientError),
        (TimeoutError("timed out"), TransientError),
        (ConnectionResetError(104, "Connection reset by peer"), TransientError),
        (IMAPClientError("something new"), TransientError),
    ],
)
def test_error_table(exc: BaseException, kind: type[Exception]) -> None:
    assert type(classify_imap_error(exc, "desk fetch")) is kind


def test_errors_never_carry_an_mpan() -> None:
    error = classify_imap_error(IMAPClientError(f"append failed: bad message MPAN {MPAN}"), "desk")
    assert MPAN not in str(error)


# --- the fetch / handle / quarantine contract ----------------------------------------------------------------


def test_fetch_new_changes_nothing_on_the_server(server: ImapServer, reader: MailboxReader) -> None:
    deliver(DESK, _mail("RE: [CS0001234] first"))
    deliver(DESK, _mail("second"))
    mails = reader.fetch_new()
    assert [m.subject for m in mails] == ["RE: [CS0001234] first", "second"]
    assert all(m.uid for m in mails) and mails[0].uid < mails[1].uid  # type: ignore[operator]
    flags, _ = _flags_and_folders(server)
    assert flags["INBOX"] == [set(), set()]  # not \Seen: a crash now re-delivers both next poll
    assert [m.message_id for m in reader.fetch_new()] == [m.message_id for m in mails]
    assert [m.subject for m in reader.fetch_new(limit=1)] == ["RE: [CS0001234] first"]


def test_mark_handled_moves_to_the_processed_folder(server: ImapServer, reader: MailboxReader) -> None:
    deliver(DESK, _mail("[CS0001234] handled"))
    deliver(DESK, _mail("still waiting"))
    first = reader.fetch_new()[0]
    assert first.uid is not None
    assert reader.mark_handled(first.uid) is True
    assert reader.mark_handled(first.uid) is False  # idempotent: already moved
    flags, folders = _flags_and_folders(server)
    assert "Bridge.Processed" in folders  # "Bridge/Processed" in Dovecot's "." hierarchy
    assert flags["Bridge.Processed"] == [{b"\\Seen"}]
    assert [m.subject for m in reader.fetch_new()] == ["still waiting"]


def test_quarantine_keeps_the_mail_and_lists_it_with_the_reason(server: ImapServer, reader: MailboxReader) -> None:
    raw = _mail(f"Meter {MPAN} is wrong", "No reference here.", msgid="<orphan-1@supplier.example>")
    deliver(DESK, raw)
    mail = reader.fetch_new()[0]
    assert mail.uid is not None
    assert reader.quarantine(mail.uid, "no case reference in subject or thread") is True
    assert reader.fetch_new() == []
    [entry] = reader.list_quarantine()
    assert entry.reason == "no case reference in subject or thread"
    assert entry.message_id == "<orphan-1@supplier.example>"
    assert entry.from_address == "priya@supplier.example"
    assert MPAN not in entry.subject and entry.subject.startswith("Meter ")  # a listing may end up in a log
    assert entry.quarantined_at is not None and entry.size > len(raw)
    client = server.connect(DESK)
    try:
        client.select_folder("Bridge.Quarantine", readonly=True)
        stored = client.fetch([entry.uid], ["BODY.PEEK[]", "FLAGS"])[entry.uid]
    finally:
        client.logout()
    assert stored[b"BODY[]"].endswith(raw.replace(b"\n", b"\r\n")) or stored[b"BODY[]"].endswith(raw)
    assert b"\\Seen" not in stored[b"FLAGS"]  # an admin sees it as unread


def test_quarantine_after_a_crash_does_not_duplicate(server: ImapServer, reader: MailboxReader) -> None:
    raw = _mail("no reference", msgid="<twice@supplier.example>")
    deliver(DESK, raw)
    reader.quarantine(reader.fetch_new()[0].uid or 0, "no case reference")
    deliver(DESK, raw)  # as if the copy was made but the original survived a crash
    assert reader.quarantine(reader.fetch_new()[0].uid or 0, "no case reference") is True
    assert len(reader.list_quarantine()) == 1
    assert reader.fetch_new() == []
    assert reader.list_quarantine(limit=0) == []


def test_list_quarantine_before_anything_was_quarantined(reader: MailboxReader) -> None:
    assert reader.list_quarantine() == []


def test_an_oversized_mail_is_read_by_its_headers_only(server: ImapServer) -> None:
    deliver(DESK, _mail("[CS0001234] huge log", "x" * 5000))
    with MailboxReader(_settings(server, max_message_bytes=1000)) as mailbox:
        [mail] = mailbox.fetch_new()
    assert mail.subject == "[CS0001234] huge log"
    assert mail.problem and "larger than the configured limit" in mail.problem
    assert mail.text == ""


def test_one_fetch_stays_within_the_size_budget(server: ImapServer) -> None:
    for number in range(3):
        deliver(DESK, _mail(f"part {number}", "x" * 600))
    with MailboxReader(_settings(server, max_message_bytes=1500)) as mailbox:
        [first] = mailbox.fetch_new()  # each is ~800 bytes: two would exceed the 1500-byte budget
        assert first.subject == "part 0" and first.problem is None
        assert mailbox.wait_for_new(5) is True  # the rest is still waiting, and newer than what was fetched
        assert mailbox.mark_handled(first.uid or 0)
        assert [m.subject for m in mailbox.fetch_new()] == ["part 1"]


def test_a_dropped_connection_is_transient_and_the_next_call_reconnects(
    server: ImapServer, reader: MailboxReader
) -> None:
    deliver(DESK, _mail("after reconnect"))
    reader.check()
    assert reader._client is not None
    reader._client.shutdown()  # the server or a NAT box dropped us
    with pytest.raises(TransientError):
        reader.fetch_new()
    assert [m.subject for m in reader.fetch_new()] == ["after reconnect"]


# --- waiting for mail ----------------------------------------------------------------------------------------
# Mail is delivered once the reader is seen idling (or polling), never after a guessed delay: on a slow machine a
# delay could let it arrive before the wait began, and the test would pass without ever exercising the wake-up.


class _WatchedClient(IMAPClient):
    """The real client, telling the test when the reader enters IDLE and when it polls (NOOP)."""

    idling: threading.Event
    polled: threading.Event

    def idle(self) -> Any:
        result = super().idle()
        self.idling.set()
        return result

    def noop(self) -> Any:
        result = super().noop()
        self.polled.set()
        return result


class _PlainerClient(_WatchedClient):
    """Dovecot with some extensions hidden, so the fallbacks run against a real server (and calling a hidden
    command, e.g. ``move``, fails loudly: IMAPClient checks capabilities before sending)."""

    def capabilities(self) -> tuple[bytes, ...]:
        hidden = {b"MOVE", b"UIDPLUS", b"IDLE", b"NAMESPACE"}
        return tuple(c for c in super().capabilities() if c not in hidden)


class _Watch:
    """A client factory for MailboxReader whose clients report IDLE and NOOP to the test."""

    def __init__(self, client_class: type[_WatchedClient] = _WatchedClient) -> None:
        self.client_class = client_class
        self.idling = threading.Event()
        self.polled = threading.Event()

    def __call__(self, settings: Settings, context: ssl.SSLContext) -> IMAPClient:
        client = self.client_class(
            settings.host, settings.effective_port, ssl_context=context, timeout=settings.timeout
        )
        client.idling, client.polled = self.idling, self.polled
        return client


def _deliver_when(seen: threading.Event, raw: bytes) -> threading.Thread:
    """Deliver ``raw`` once ``seen`` is set (the reader is idling or has polled), from another thread."""

    def later() -> None:
        if seen.wait(60):
            deliver(DESK, raw)

    thread = threading.Thread(target=later)
    thread.start()
    return thread


def test_idle_wakes_up_on_new_mail(server: ImapServer) -> None:
    watch = _Watch()
    with MailboxReader(_settings(server, poll_interval=3600), client_factory=watch) as reader:
        assert reader.fetch_new() == []
        assert reader.wait_for_new(0.3) is False
        watch.idling.clear()
        thread = _deliver_when(watch.idling, _mail("wake up"))
        # the mail arrives while the reader idles, so only the server's EXISTS can end this wait with True
        assert reader.wait_for_new(60) is True
        thread.join()
        assert not watch.polled.is_set(), "woken by IDLE, not by a poll"
        assert [m.subject for m in reader.fetch_new()] == ["wake up"]


def test_wait_returns_at_once_when_unfetched_mail_is_waiting(server: ImapServer) -> None:
    watch = _Watch()
    with MailboxReader(_settings(server), client_factory=watch) as reader:
        deliver(DESK, _mail("already here"))
        assert reader.wait_for_new(3600) is True
        assert not watch.idling.is_set() and not watch.polled.is_set(), "answered from the folder, no wait"
        reader.fetch_new()
        assert reader.wait_for_new(0.2) is False  # fetched but not yet handled is not "new"


def test_wait_polls_when_idle_is_off(server: ImapServer) -> None:
    watch = _Watch()
    with MailboxReader(_settings(server, idle=False, poll_interval=0.2), client_factory=watch) as mailbox:
        assert mailbox.fetch_new() == []
        watch.polled.clear()
        thread = _deliver_when(watch.polled, _mail("polled"))
        assert mailbox.wait_for_new(60) is True
        thread.join()
        assert not watch.idling.is_set()


# --- a plainer server: no MOVE, UIDPLUS, IDLE or NAMESPACE ----------------------------------------------------


def test_fallbacks_without_move_uidplus_idle_or_namespace(server: ImapServer) -> None:
    deliver(DESK, _mail("[CS0001234] copy and expunge"))
    deliver(DESK, _mail("orphan"))
    settings = _settings(server, poll_interval=0.2)
    watch = _Watch(_PlainerClient)
    with MailboxReader(settings, client_factory=watch) as mailbox:
        assert mailbox.check().endswith("polling")
        handled, orphan = mailbox.fetch_new()
        assert mailbox.mark_handled(handled.uid or 0)
        assert mailbox.quarantine(orphan.uid or 0, "no case reference")
        assert [e.subject for e in mailbox.list_quarantine()] == ["orphan"]
        watch.polled.clear()
        thread = _deliver_when(watch.polled, _mail("polled"))
        assert mailbox.wait_for_new(60) is True
        thread.join()
    flags, folders = _flags_and_folders(server)
    assert {"Bridge.Processed", "Bridge.Quarantine"} <= set(folders)  # delimiter learnt from LIST "" ""
    assert flags["Bridge.Processed"] == [{b"\\Seen"}]
    assert flags["INBOX"] == [set()]  # only "polled": nothing left flagged \Deleted


# --- a partner's reply, end to end ---------------------------------------------------------------------------


def test_reply_threaded_by_in_reply_to_becomes_a_comment_with_attachments(reader: MailboxReader) -> None:
    message = EmailMessage()
    message["From"] = "Priya Patel <priya@supplier.example>"
    message["To"] = DESK
    message["Subject"] = "RE: DIP rejection"
    message["Message-ID"] = "<reply-1@supplier.example>"
    message["In-Reply-To"] = "<bridge.abc123@elexon.example>"
    message["Date"] = "Tue, 05 Mar 2024 14:02:00 +0000"
    message.set_content(
        f"The MPAN is {MPAN}, resent at 10:15.\n\nThanks,\nPriya\n\n"
        "On Tue, 5 Mar 2024 at 09:00, MHHS Service Desk <desk@example.com> wrote:\n> Which MPAN?\n"
    )
    message.add_attachment(b"col1,col2\n1,2\n", maintype="text", subtype="csv", filename="rejections.csv")
    deliver(DESK, message.as_bytes())
    [mail] = reader.fetch_new()
    sent = {"<bridge.abc123@elexon.example>": "CS0001234"}
    assert case_reference(mail, lookup_message_id=sent.get) == "CS0001234"
    comment = to_comment(mail)
    assert comment.startswith("Email from Priya Patel <priya@supplier.example> at 2024-03-05 14:02 UTC:")
    assert f"The MPAN is {MPAN}, resent at 10:15." in comment  # MPANs may go onto the case
    assert "Which MPAN?" not in comment and "Priya\n" not in comment
    assert [(a.filename, a.data) for a in mail.attachments] == [("rejections.csv", b"col1,col2\n1,2\n")]
    assert parse_mail(mail.raw).message_id == "<reply-1@supplier.example>"
    assert reader.mark_handled(mail.uid or 0)


# --- refused logins: last, because Dovecot slows the next login from the same address after a failure ----------


def test_bad_password_is_a_clear_permanent_error(server: ImapServer) -> None:
    settings = _settings(server, password=SecretStr("wrong-password"))
    with MailboxReader(settings, name="desk") as mailbox, pytest.raises(PermanentError) as caught:
        mailbox.fetch_new()
    message = str(caught.value)
    assert "desk fetch (desk@example.com): login refused" in message
    assert "AUTHENTICATIONFAILED" in message
    assert "wrong-password" not in message


def test_a_refused_xoauth2_token_is_a_permanent_error(server: ImapServer) -> None:
    settings = _settings(server, password=None, oauth2_token=SecretStr("expired-token"))
    with MailboxReader(settings) as mailbox, pytest.raises(PermanentError, match="login refused"):
        mailbox.check()
