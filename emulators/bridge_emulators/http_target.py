"""A counting HTTP receiver with failure knobs: the neutral target of the engine's tests and benchmarks.

It records every request (raw deliveries) and applies each `Idempotency-Key` once (applied deliveries), as a
well-behaved partner API does, so a test can tell "delivered twice" from "applied twice". Knobs: added latency,
and per-key scripted failures (status codes with optional Retry-After, dropped connections, stalls).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bridge_emulators._base.server import read_body


@dataclass
class Applied:
    key: str
    record: str | None
    seq: int | None
    body: Any
    at: float


@dataclass
class TargetState:
    latency: float = 0.0
    raw: int = 0
    applied: list[Applied] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    per_key_raw: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: key -> list of failures to serve before succeeding: ("status", 503, retry_after) / ("drop",) / ("stall", s)
    script: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    #: failures applied to every key's first N attempts: list like script entries
    default_script: list[tuple[Any, ...]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_record(self) -> dict[str, list[int]]:
        """Applied sequence numbers per record, in the order they were applied."""
        out: dict[str, list[int]] = defaultdict(list)
        for item in self.applied:
            if item.record is not None and item.seq is not None:
                out[item.record].append(item.seq)
        return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment; otherwise Nagle + delayed ACK add 40 ms to every keep-alive call.
    disable_nagle_algorithm = True
    wbufsize = 65536
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._reply(200, {"status": "ok"})

    def do_POST(self) -> None:
        self._write()

    do_PUT = do_POST
    do_PATCH = do_POST

    def _write(self) -> None:
        state = self.server.state
        raw_body = read_body(self.rfile, self.headers)
        if raw_body is None:  # the sender died mid-request: like any real server, apply nothing
            self.close_connection = True
            return
        key = self.headers.get("Idempotency-Key") or ""
        with state.lock:
            state.raw += 1
            state.per_key_raw[key] += 1
            attempt = state.per_key_raw[key]
            failure = _scripted(state, key, attempt)
        if state.latency:
            time.sleep(state.latency)
        if failure is not None and self._fail(failure):
            return
        body = json.loads(raw_body) if raw_body else None
        with state.lock:
            if key not in state.keys:
                state.keys.add(key)
                record = body.get("record") if isinstance(body, dict) else None
                seq = body.get("seq") if isinstance(body, dict) else None
                state.applied.append(Applied(key, None if record is None else str(record), seq, body, time.time()))
        self._reply(200, {"ok": True})

    def _fail(self, failure: tuple[Any, ...]) -> bool:
        kind = failure[0]
        if kind == "drop":
            self.close_connection = True
            self.connection.close()
            return True
        if kind == "stall":
            time.sleep(float(failure[1]))
            self.close_connection = True
            return True
        status = int(failure[1])
        headers = {"Retry-After": str(failure[2])} if len(failure) > 2 and failure[2] is not None else {}
        self._reply(status, {"error": f"scripted {status}"}, headers)
        return True

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _scripted(state: TargetState, key: str, attempt: int) -> tuple[Any, ...] | None:
    script = state.script.get(key, state.default_script)
    return script[attempt - 1] if attempt <= len(script) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    state: TargetState


class CountingTarget:
    """`with CountingTarget() as target: target.url ...`: serves on 127.0.0.1, port 0, in a thread."""

    def __init__(self, *, latency: float = 0.0, port: int = 0) -> None:
        self.state = TargetState(latency=latency)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.state = self.state
        # a short poll interval: stop() waits for the serving loop's next look (0.5 s by default, per test)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="counting-target"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CountingTarget:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CountingTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
