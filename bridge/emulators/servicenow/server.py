"""The HTTP layer: a threading HTTP/1.1 server (keep-alive) and the socket-level faults.

A stdlib ``ThreadingHTTPServer`` gives full control of the socket, which the faults need: a dropped
connection closes it without a byte of response, a stall holds it past the client's timeout, and latency
delays the answer. Admin endpoints bypass all of them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from .app import ServiceNowApp
from .faults import HIBERNATING_PAGE
from .messages import Request, Response, error_response
from .urls import is_admin

FAULT_RESPONSES = {
    "500": (500, "Internal Server Error", "The emulator injected a server error"),
    "503": (503, "Service Unavailable", "The emulator injected an unavailable instance"),
}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One thread per connection (daemon threads), tracking open sockets so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: ServiceNowApp) -> None:
        super().__init__(address, RequestHandler)
        self.app = app
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, conn: socket.socket, add: bool) -> None:
        """Remember or forget an open connection."""
        with self._connections_lock:
            if add:
                self.connections.add(conn)
            else:
                self.connections.discard(conn)

    def close_connections(self) -> None:
        """Shut every open keep-alive connection (their threads then end)."""
        with self._connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            _shutdown(conn)


class RequestHandler(BaseHTTPRequestHandler):
    """Reads one request at a time off a keep-alive connection and answers it."""

    protocol_version = "HTTP/1.1"
    server_version = "ServiceNow"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300

    @property
    def emulator(self) -> EmulatorHTTPServer:
        return cast(EmulatorHTTPServer, self.server)

    def setup(self) -> None:
        super().setup()
        self.emulator.track(self.connection, True)

    def finish(self) -> None:
        self.emulator.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a thousand requests a second must not print a thousand lines."""

    def _serve(self) -> None:
        request = Request.from_target(self.command, self.path, dict(self.headers), self._body(), self._base())
        if is_admin(request.path):
            self._send(self.emulator.app.admin(request))
        else:
            self._api(request)

    def _api(self, request: Request) -> None:
        """An API call, with the configured faults applied."""
        app = self.emulator.app
        config = app.faults.config
        app.stats.request(request.method, app.resource(request.path))
        if config.hibernate:
            app.stats.fault("hibernate")
            self._finish(Response(200, HIBERNATING_PAGE, [("Content-Type", "text/html;charset=UTF-8")]))
            return
        fault = app.faults.draw()
        if fault is not None:
            app.stats.fault(fault)
        if fault in ("drop", "stall"):
            if fault == "stall":
                self.emulator.stopping.wait(config.stall_seconds)
            app.stats.outcome("dropped" if fault == "drop" else "stalled")
            self._drop()
            return
        if fault is not None:
            self._finish(error_response(*FAULT_RESPONSES[fault]))
            return
        self._finish(app.handle(request))

    def _finish(self, response: Response) -> None:
        """Apply latency, count the outcome, send."""
        app = self.emulator.app
        latency = app.faults.config.latency_ms
        if latency > 0:
            self.emulator.stopping.wait(latency / 1000.0)
        app.stats.outcome(str(response.status))
        self._send(response)

    def _body(self) -> bytes:
        """The request body (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _base(self) -> str:
        """The instance URL links point at: the Host the client used."""
        host = self.headers.get("Host")
        if not host:
            address = self.server.server_address
            host = f"{address[0]!s}:{address[1]!s}" if isinstance(address, tuple) else str(address)
        return f"http://{host}"

    def _send(self, response: Response) -> None:
        """Write status, headers and body in one go."""
        head = [f"HTTP/1.1 {response.status} {response.reason}", f"Date: {self.date_time_string()}"]
        head.append("Server: ServiceNow")
        head += [f"{k}: {v}" for k, v in response.headers]
        if response.status != 204:
            head.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            head.append("Connection: close")
        body = b"" if self.command == "HEAD" or response.status == 204 else response.body
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without a response (what a reset by a proxy looks like to a client)."""
        self.close_connection = True
        _shutdown(self.connection)


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
