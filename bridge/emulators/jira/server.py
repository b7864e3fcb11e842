"""The HTTP layer: a threading HTTP/1.1 server (keep-alive, Nagle off) and the socket-level faults.

A stdlib ``ThreadingHTTPServer`` gives full control of the socket, which the faults need: a dropped
connection closes it without a byte of response (``lost``: after the request took effect) and latency delays
the answer. Admin endpoints bypass both.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from .app import JiraApp
from .errors import JiraError
from .messages import Request, Response, platform_error
from .routes import is_admin


class _Injected(JiraError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


FAULT_RESPONSES = {
    "500": _Injected(500, "Internal server error (injected by the emulator)"),
    "503": _Injected(503, "Service unavailable (injected by the emulator)"),
}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection, tracking open sockets so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: JiraApp) -> None:
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
    server_version = "Jira-Emulator"
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

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a benchmark's thousands of requests must not print thousands of lines."""

    def _serve(self) -> None:
        request = Request.from_target(self.command, self.path, dict(self.headers), self._body(), self._base())
        if is_admin(request.path):
            self._send(self.emulator.app.admin(request))
            return
        app = self.emulator.app
        fault = app.faults.draw()
        if fault is not None:
            app.stats.count("faults", fault)
        if fault in ("drop", "lost"):
            if fault == "lost":
                app.handle(request)  # it takes effect; only the answer is lost
            app.stats.count("by_status", "dropped")
            self.close_connection = True
            _shutdown(self.connection)
            return
        response = platform_error(FAULT_RESPONSES[fault]) if fault else app.handle(request)
        latency = app.faults.config.latency_ms
        if latency > 0:
            self.emulator.stopping.wait(latency / 1000.0)
        app.stats.count("by_status", str(response.status))
        self._send(response)

    def _body(self) -> bytes:
        """The request body (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _base(self) -> str:
        """The site URL links point at: the Host the client used."""
        host = self.headers.get("Host")
        if not host:
            address = self.server.server_address
            host = f"{address[0]!s}:{address[1]!s}" if isinstance(address, tuple) else str(address)
        return f"http://{host}"

    def _send(self, response: Response) -> None:
        """Write status, headers and body in one go."""
        head = [f"HTTP/1.1 {response.status} {response.reason}", f"Date: {self.date_time_string()}"]
        head += [f"{k}: {v}" for k, v in response.headers]
        if response.status != 204:
            head.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            head.append("Connection: close")
        body = b"" if response.status == 204 else response.body
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
