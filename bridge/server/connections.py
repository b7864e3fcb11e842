"""Connections: a deadline for the headers and a cap on open connections (issue 15, "Slow clients").

uvicorn closes an idle kept-alive connection (``server.keep_alive_seconds``) but has no deadline for headers:
300 clients sending theirs a byte at a time held 300 connections for minutes, and a few hundred more ran the
daemon out of file descriptors, so ``/healthz`` and the webhooks were refused. This protocol (uvicorn's own
``httptools`` one, subclassed) adds:

- a **header deadline**: from the connection's opening (or the next request's first byte, on a kept-alive
  connection) the request line and headers must be complete within ``server.header_timeout_seconds``, else the
  client gets 408 and the connection is closed;
- a **body deadline**: a request with a body must have sent all of it ``server.body_timeout_seconds`` after its
  headers, else 408 (unless the handler already answered) and the connection is closed; a handler still waiting
  for the body is told the client went away;
- a **connection cap**: past ``server.max_connections`` open connections (never more than the process's file
  descriptor limit allows, less a margin for the store, SMTP and files), a new connection gets 503 with
  ``Retry-After`` and is closed at once, so the descriptors the daemon needs stay free.

Both are counted in ``bridge_http_refused_total``. A reverse proxy in front (TLS, per-client limits) is still
the recommended deployment; docs/SECURITY.md says why.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bridge.server.limits import REFUSED

log = logging.getLogger("bridge.server")
DESCRIPTOR_MARGIN = 128  # descriptors kept for the store, SMTP/IMAP, files and the engine's own connections
for _reason in ("header_timeout", "body_timeout", "connections"):
    REFUSED.labels(_reason)


def _answer(status: str, text: str, extra: str = "") -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
        f"connection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


_BUSY = _answer("503 Service Unavailable", "too many open connections; try again shortly", "retry-after: 1\r\n")
_SLOW = _answer("408 Request Timeout", "the request headers did not arrive in time")


def connection_cap(configured: int) -> int:
    """``configured``, lowered to what the file descriptor limit leaves after ``DESCRIPTOR_MARGIN``."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(16, min(configured, soft - DESCRIPTOR_MARGIN))


def protocol_class(*, header_timeout: float, body_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """The uvicorn ``http`` protocol class with these limits (pass it as ``uvicorn.Config(http=...)``)."""
    cap = connection_cap(max_connections)
    if cap < max_connections:
        log.warning("server.max_connections lowered to fit the file descriptor limit", extra={"cap": cap})
    refused_log = _Occasional(60.0)
    slow_body = _answer("408 Request Timeout", f"the request body did not arrive within {body_timeout:g} seconds")

    class GuardedProtocol(HttpToolsProtocol):
        _timer: asyncio.TimerHandle | None = None
        _refused: bool = False

        def connection_made(self, transport: Any) -> None:
            if len(self.connections) >= cap:
                self._refused = True
                self.transport = transport
                REFUSED.labels("connections").inc()
                if refused_log.due():
                    log.warning("connection refused: too many open connections", extra={"cap": cap})
                transport.write(_BUSY)
                transport.close()
                return
            super().connection_made(transport)
            self._arm(header_timeout, self._headers_too_slow)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._timer is None:
                self._arm(header_timeout, self._headers_too_slow)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            if _expects_body(self.headers) and not self.transport.is_closing():
                self._arm(body_timeout, self._body_too_slow)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._refused:
                return
            super().connection_lost(exc)

        def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
            self._timer = self.loop.call_later(seconds, callback)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _headers_too_slow(self) -> None:
            self._close_with("header_timeout", _SLOW)

        def _body_too_slow(self) -> None:
            answered = self.cycle is not None and self.cycle.response_started
            self._close_with("body_timeout", b"" if answered else slow_body)

        def _close_with(self, reason: str, answer: bytes) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            REFUSED.labels(reason).inc()
            if answer:
                self.transport.write(answer)
            self.transport.close()  # the handler, if waiting for the body, is told the client went away

    return GuardedProtocol


def _expects_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


class _Occasional:
    """True at most once per ``interval`` seconds: a flood of refusals is one log line a minute, not one each."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True


__all__ = ["DESCRIPTOR_MARGIN", "connection_cap", "protocol_class"]
