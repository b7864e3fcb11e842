"""A real Dovecot for the inbound-email tests, started by ``scripts/imap-test-server``.

Each test session gets its own instance (free ports, a fresh directory) so parallel runs on one machine never
share a mailbox, and an XOAUTH2 introspection endpoint for it. If the server cannot start, the fixture fails
with the script's output: a missing IMAP server is a broken test environment, never a reason to skip.

Use it by naming the fixture in a test module: ``imap_server = tests.support.imap.imap_server``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from imapclient import IMAPClient

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "imap-test-server"
USERS = {"desk@example.com": "desk-password", "partner@example.com": "partner-password"}
#: XOAUTH2 access tokens the introspection endpoint accepts, and whose they are.
OAUTH_TOKENS = {"desk-oauth-token": "desk@example.com"}


@dataclass(frozen=True)
class ImapServer:
    """Where the test Dovecot listens and who can log in; ``ca_cert`` is the CA its certificate chains to."""

    host: str
    port: int
    ssl_port: int
    ca_cert: Path
    directory: Path
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    oauth_tokens: dict[str, str] = field(default_factory=lambda: dict(OAUTH_TOKENS))

    def connect(self, user: str) -> IMAPClient:
        """A logged-in IMAPS connection as ``user`` (the caller logs out)."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        client = IMAPClient(self.host, self.ssl_port, ssl=True, ssl_context=context, timeout=10)
        client.login(user, self.users[user])
        return client

    def deliver(self, user: str, raw: bytes, *, folder: str = "INBOX") -> None:
        """Put a message into ``user``'s folder, as a mail server's delivery would (IMAP APPEND as that user)."""
        client = self.connect(user)
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def reset(self, user: str) -> None:
        """Empty ``user``'s INBOX and delete every other folder, so each test starts from a clean mailbox."""
        client = self.connect(user)
        try:
            for name in sorted(selectable_folders(client), key=len, reverse=True):
                if name.upper() != "INBOX":
                    client.delete_folder(name)
            client.select_folder("INBOX")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
        finally:
            client.logout()


def selectable_folders(client: IMAPClient) -> list[str]:
    """Folder names that hold messages (not the bare parents of a hierarchy, which Dovecot lists too)."""
    skip = {b"\\Noselect", b"\\NonExistent"}
    return [name for flags, _delimiter, name in client.list_folders() if not skip & set(flags)]


_active: ImapServer | None = None


def deliver(user: str, raw: bytes) -> None:
    """Append ``raw`` to ``user``'s INBOX on the server the ``imap_server`` fixture started."""
    if _active is None:
        raise RuntimeError("deliver() needs the imap_server fixture")
    _active.deliver(user, raw)


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: all sockets are held open together, so the kernel cannot hand one out twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


class _Introspection(BaseHTTPRequestHandler):
    """RFC 7662 token introspection, as an identity provider answers Dovecot's XOAUTH2 checks."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        token = parse_qs(self.rfile.read(length).decode()).get("token", [""])[0]
        user = OAUTH_TOKENS.get(token)
        body = json.dumps({"active": True, "username": user} if user else {"active": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for failures."""


def _run_script(action: str, directory: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the script; its output goes through a file, not a pipe, so a daemon holding it cannot hang us."""
    with tempfile.TemporaryFile() as output:
        done = subprocess.run(
            [str(SCRIPT), action, str(directory)],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
        output.seek(0)
        return done.returncode, output.read().decode(errors="replace")


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """Start a private Dovecot for this session; fail (never skip) with the script's output if it won't start."""
    global _active
    directory = Path(tempfile.mkdtemp(prefix="bridge-dovecot-"))
    directory.chmod(0o755)  # the unprivileged mail user must reach its maildirs
    introspection = ThreadingHTTPServer(("127.0.0.1", 0), _Introspection)
    threading.Thread(target=introspection.serve_forever, daemon=True).start()
    port, ssl_port = _free_ports(2)
    env = {
        "BRIDGE_TEST_IMAP_PORT": str(port),
        "BRIDGE_TEST_IMAPS_PORT": str(ssl_port),
        "BRIDGE_TEST_IMAP_OAUTH_PORT": str(introspection.server_address[1]),
    }
    returncode, output = _run_script("start", directory, env)
    try:
        if returncode != 0:
            pytest.fail(f"scripts/imap-test-server start failed ({returncode}):\n{output}", pytrace=False)
        _active = ImapServer(
            host="127.0.0.1",
            port=port,
            ssl_port=ssl_port,
            ca_cert=directory / "ca.crt",
            directory=directory,
        )
        yield _active
    finally:
        _active = None
        _run_script("stop", directory, env)
        introspection.shutdown()
        shutil.rmtree(directory, ignore_errors=True)
