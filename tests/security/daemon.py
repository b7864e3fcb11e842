"""`bridge run` for the security tests: a real daemon on a free port, its configuration, its log, raw sockets.

Each finding of issue 15 about the daemon is reproduced against one of these over real HTTP (and raw TCP for
the slow-client ones), as an attacker on the network would.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from tests.support.procs import bridge_process, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "admin-token-0123456789abcdefghij"
AZURE_TOKEN = "azure-token-0123456789abcdefghij"
FORWARD_TOKEN = "forward-token-0123456789abcdefgh"
PUSH_SECRET = "push-secret-0123456789abcdefghij"
JIRA_SECRET = "jira-secret-0123456789abcdefghij"


def config(tmp: Path, *, sink_url: str, servicenow_url: str, db_url: str | None = None, **server: Any) -> Path:
    """Every webhook of the bridge on one daemon: forward, Azure, ServiceNow push, Jira; the admin surface."""
    poll = {"source": "servicenow", "table": "incident", "interval_seconds": 3600}
    data: dict[str, Any] = {
        "data_dir": str(tmp / "data"),
        "mappings_dir": str(ROOT / "config" / "mappings"),
        "log": {"level": "INFO"},
        "server": {"auth_failures_burst": 1000, **server},
        "store": {"url": db_url},
        "dispatcher": {"idle_poll_seconds": 0.05, "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
        "admin": {"tokens": [ADMIN_TOKEN]},
        "azure": {"tokens": [AZURE_TOKEN]},
        "targets": {
            "sink": {"kind": "http", "base_url": sink_url, "read_timeout": 2, "connect_timeout": 2},
            "servicenow": {
                "kind": "servicenow",
                "instance_url": servicenow_url,
                "auth": {"type": "basic", "username": "admin", "password": "admin"},
            },
        },
        "routes": [
            {
                "name": "fwd",
                "kind": "forward",
                "target": "sink",
                "options": {"path": "/apply", "record_field": "record", "tokens": [FORWARD_TOKEN]},
            },
            {"name": "azure", "kind": "azure-alert", "target": "servicenow", "mapping": "azure-alert-to-incident"},
            {
                "name": "push",
                "kind": "forward",
                "target": "sink",
                "options": {"path": "/changes", "push_secret": PUSH_SECRET, "poll": poll},
            },
            {
                "name": "jira",
                "kind": "forward",
                "target": "sink",
                "options": {"path": "/jira", "webhook_secret": JIRA_SECRET, "poll": poll},
            },
        ],
    }
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "bridge.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Daemon:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    db_url: str

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_with(self, text: str, *, attempts: int = 400) -> str:
        """The log once ``text`` is in it (the log thread writes a moment after the event), or as it is."""
        log = self.log_text()
        for _ in range(attempts):
            if text in log:
                break
            time.sleep(0.025)
            log = self.log_text()
        return log

    def stored_events(self) -> int:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one())
        finally:
            engine.dispose()

    def raw(self, timeout: float = 30.0) -> socket.socket:
        """A plain TCP connection to the daemon (for what an HTTP library would not send)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@contextmanager
def running(config_path: Path, *, log: Path | None = None) -> Iterator[Daemon]:
    """Start `bridge run` on a free port and stop it (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    log = log or config_path.parent / "bridge.log"
    proc = bridge_process("run", "--config", str(config_path), "--port", str(port), log=log)
    url = f"http://127.0.0.1:{port}"
    data = yaml.safe_load(config_path.read_text())
    db_url = data["store"]["url"] or f"sqlite:///{Path(data['data_dir']) / 'bridge.db'}"
    try:
        wait_ready(url, proc, timeout=60)
        yield Daemon(url, port, proc, log, db_url)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def sign_servicenow(body: bytes) -> str:
    return "sha256=" + hmac.new(PUSH_SECRET.encode(), body, hashlib.sha256).hexdigest()


def sign_jira(body: bytes) -> str:
    return "sha256=" + hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Read until the server closes the connection (or the head and Content-Length body arrived)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data
