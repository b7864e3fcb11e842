"""Issue 15 against a running daemon: slow clients (header and body deadlines), the connection cap, and the
access log of hostile URLs (cut, masked on the log thread). Nothing here measures time: each test waits for
the daemon to act (answer, close) and fails after a generous socket timeout if it never does."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.security.daemon import FORWARD_TOKEN, Daemon, config, read_response, running

CAP = 16  # the smallest cap the configuration allows


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("edge-clients")
    settings = {"header_timeout_seconds": 1, "body_timeout_seconds": 1, "max_connections": CAP}
    with (
        CountingTarget() as sink,
        ServiceNowEmulator() as emulator,
        running(config(tmp, sink_url=sink.url, servicenow_url=emulator.url, **settings)) as bridge,
    ):
        yield bridge


def _metric(daemon: Daemon, reason: str) -> float:
    text = requests.get(f"{daemon.url}/metrics", timeout=30).text
    line = next(
        line for line in text.splitlines() if line.startswith(f'bridge_http_refused_total{{reason="{reason}"}}')
    )
    return float(line.rsplit(" ", 1)[1])


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(daemon: Daemon) -> None:
    """300 connections trickling their headers stayed open for minutes; each now gets 408 and is closed."""
    slow = [daemon.raw() for _ in range(8)]
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 10_000
    for sock in slow:
        sock.sendall(request[:1])
    answers = []
    for sock in slow:
        sent = 1
        try:
            while sent < len(request):  # one byte at a time until the daemon closes the connection
                sock.sendall(request[sent : sent + 1])
                sent += 1
                sock.settimeout(0.05)
                try:
                    if sock.recv(65536, socket.MSG_PEEK):
                        break
                except TimeoutError:
                    continue
        except OSError:
            pass
        sock.settimeout(30)
        answers.append(read_response(sock)[0])
        sock.close()
    assert answers == [408] * len(slow)
    assert requests.get(f"{daemon.url}/healthz", timeout=30).status_code == 200


def test_a_connection_that_sends_nothing_is_closed(daemon: Daemon) -> None:
    sock = daemon.raw()
    status, data = read_response(sock)  # returns when the daemon closes it
    sock.close()
    assert status == 408 and b"did not arrive in time" in data


def test_a_body_that_never_arrives_gets_408(daemon: Daemon) -> None:
    sock = daemon.raw()
    head = (
        f"POST /webhooks/forward/fwd HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {FORWARD_TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"record": ')
    status, data = read_response(sock)
    sock.close()
    assert status == 408 and b"did not arrive within" in data
    assert _metric(daemon, "body_timeout") >= 1


def test_past_the_cap_a_connection_gets_503_and_the_daemon_keeps_serving(daemon: Daemon) -> None:
    held = [daemon.raw() for _ in range(CAP)]
    try:
        refused = 0
        for _ in range(20):  # until the daemon has taken all the held ones: then the next is refused
            extra = daemon.raw()
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, data = read_response(extra)
            extra.close()
            if status == 503:
                refused += 1
                assert b"retry-after: 1" in data.lower()
                break
        assert refused == 1
    finally:
        for sock in held:
            sock.close()
    statuses = [requests.get(f"{daemon.url}/healthz", timeout=30).status_code for _ in range(1)]
    while statuses[-1] != 200 and len(statuses) < 200:  # until the daemon has seen the held ones close
        statuses.append(requests.get(f"{daemon.url}/healthz", timeout=30).status_code)
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}
    assert _metric(daemon, "connections") >= 1


def test_hostile_urls_are_cut_in_the_access_log(daemon: Daemon) -> None:
    """Three GETs with a 64 KB query of `1%20` stalled /healthz: the masker scanned every one on the loop."""
    query = "1%20" * 16_000
    for _ in range(3):
        assert requests.get(f"{daemon.url}/healthz?q={query}", timeout=30).status_code == 200
    assert (
        requests.post(
            f"{daemon.url}/webhooks/forward/fwd",
            json={"record": "after"},
            headers={"Authorization": f"Bearer {FORWARD_TOKEN}"},
            timeout=30,
        ).status_code
        == 202
    )
    lines: list[str] = []
    for _ in range(400):  # the log thread writes a moment after the request: wait for the three lines
        lines = [line for line in daemon.log_text().splitlines() if "/healthz?q=1%201%20" in line]
        if len(lines) >= 3:
            break
        time.sleep(0.025)
    assert len(lines) >= 3
    for line in lines:
        entry = json.loads(line)
        assert "characters cut" in entry["msg"] and len(line) < 2_000
