"""The HTTP layer both emulators share: a threading HTTP/1.1 server (keep-alive, Nagle off) and the socket faults.

A stdlib ``ThreadingHTTPServer`` gives full control of the socket, which the faults need: a dropped
connection closes it without a byte of response, ``lost`` closes it after the request took effect, a stall
holds it past the client's timeout, and latency delays the answer. Admin endpoints bypass all of them.
Each emulator subclasses :class:`EmulatorRequestHandler` with its request class and its error envelope.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from .faults import FaultInjector
from .messages import BaseRequest, BaseResponse
from .stats import BaseStats

#: faults that answer with nothing: the connection is closed (``lost``: after the request took effect)
CONNECTION_FAULTS = ("drop", "lost", "stall")


class EmulatorApp(Protocol):
    """What the HTTP layer needs of an emulator's transport-free request handling."""

    @property
    def faults(self) -> FaultInjector[Any]: ...

    @property
    def stats(self) -> BaseStats: ...

    def handle(self, request: Any) -> BaseResponse: ...

    def admin(self, request: Any) -> BaseResponse: ...


AppT = TypeVar("AppT", bound=EmulatorApp)


def is_admin(path: str) -> bool:
    """Whether a path is one of the emulator's own control endpoints."""
    return path.startswith("/emulator/")


class EmulatorHTTPServer(ThreadingHTTPServer, Generic[AppT]):
    """One daemon thread per connection, tracking open sockets so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    handler_class: ClassVar[type[BaseHTTPRequestHandler]]

    def __init__(self, address: tuple[str, int], app: AppT) -> None:
        super().__init__(address, self.handler_class)
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
            shutdown(conn)


class EmulatorRequestHandler(BaseHTTPRequestHandler, Generic[AppT]):
    """Reads one request at a time off a keep-alive connection and answers it, faults applied."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300
    request_class: ClassVar[type[BaseRequest]] = BaseRequest
    #: a ``Server`` header to send with every answer (None: none)
    server_header: ClassVar[str | None] = None

    @property
    def emulator(self) -> EmulatorHTTPServer[AppT]:
        return cast(EmulatorHTTPServer[AppT], self.server)

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
        body, base_url = read_body(self.rfile, self.headers), self._base()
        if body is None:
            # the client went away mid-request (killed, reset): a real server never dispatches a request
            # whose body was cut short, so neither does the emulator; it just closes the connection
            self._drop()
            return
        request = self.request_class.from_target(self.command, self.path, dict(self.headers), body, base_url)
        if is_admin(request.path):
            self._send(self.emulator.app.admin(request))
        else:
            self._api(request)

    def _api(self, request: BaseRequest) -> None:
        """An API call, with the configured faults applied."""
        app = self.emulator.app
        fault = app.faults.draw()
        if fault is not None:
            app.stats.fault(fault)
        if fault in CONNECTION_FAULTS:
            if fault == "lost":
                app.handle(request)  # it takes effect; only the answer is lost
            elif fault == "stall":
                self.emulator.stopping.wait(app.faults.config.stall_seconds)
            app.stats.outcome("stalled" if fault == "stall" else "dropped")
            self._drop()
            return
        self._finish(self._fault_response(fault) if fault is not None else app.handle(request))

    def _fault_response(self, fault: str) -> BaseResponse:
        """The answer to an injected "500" or "503", in the emulator's error envelope."""
        raise NotImplementedError

    def _finish(self, response: BaseResponse) -> None:
        """Apply latency (counted in the stats' ``latency`` group), count the outcome, send."""
        app = self.emulator.app
        latency = app.faults.config.latency_ms
        if latency > 0:
            self.emulator.stopping.wait(latency / 1000.0)
            app.stats.delayed(latency)
        app.stats.outcome(str(response.status))
        self._send(response)

    def _base(self) -> str:
        """The base URL links point at: the Host the client used."""
        host = self.headers.get("Host")
        if not host:
            address = self.server.server_address
            host = f"{address[0]!s}:{address[1]!s}" if isinstance(address, tuple) else str(address)
        return f"{'https' if isinstance(self.connection, ssl.SSLSocket) else 'http'}://{host}"

    def _send(self, response: BaseResponse) -> None:
        """Write status, headers and body in one go (no body for HEAD or 204)."""
        head = [f"HTTP/1.1 {response.status} {response.reason}", f"Date: {self.date_time_string()}"]
        if self.server_header is not None:
            head.append(f"Server: {self.server_header}")
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
        shutdown(self.connection)


def read_body(rfile: io.BufferedIOBase, headers: Message) -> bytes | None:
    """The request body (Content-Length or chunked), or None when the connection ended before all of it came."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            line = rfile.readline()
            if not line.endswith(b"\n"):
                return None
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                rfile.readline()
                return b"".join(chunks)
            chunk = rfile.read(size)
            if len(chunk) < size:
                return None
            chunks.append(chunk)
            rfile.readline()
    length = int(headers.get("Content-Length") or 0)
    if length <= 0:
        return b""
    body = rfile.read(length)
    return body if len(body) == length else None


def shutdown(conn: socket.socket) -> None:
    """Shut a socket both ways, ignoring one already gone."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
