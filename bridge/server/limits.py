"""What every HTTP request meets before its handler reads a byte of its body (issue 15).

An ASGI middleware around the whole app, so no route can forget it:

1. **Size, by the declared length**: a ``Content-Length`` over ``server.max_body_bytes`` gets 413 at once, nothing
   read, and the connection is closed (the client would otherwise go on sending into the void).
2. **Credentials**: a *gate* registered for the path (the admin surface registers one for its API and forms, see
   :func:`add_gate`) answers 401/429 or redirects from the headers alone. FastAPI reads and parses a declared
   ``Body`` before it runs any dependency, so without this a 100 MiB JSON body was parsed before its missing
   token was noticed. Webhooks authenticate in their handlers before reading (or, when the signature covers the
   body, check the header's form first and read a bounded body).
3. **Size while reading**: a body without a ``Content-Length`` (chunked) is counted as it arrives and cut off
   with 413 past the limit, answered by the middleware itself; the handler sees the client as gone and the
   connection is closed. A body with a ``Content-Length`` within the limit needs no counting (the HTTP parser
   holds it to its length), so the common case passes straight through.

The deadlines for the headers and the body, and the connection cap, live one level down, in
:mod:`bridge.server.connections`, where they cost a timer per request rather than work per read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REFUSED = Counter(
    "bridge_http_refused_total",
    "Requests answered before their handler: size, slow body, credentials checked before the body",
    ["reason"],
)
for _reason in ("size", "auth"):
    REFUSED.labels(_reason)

Gate = Callable[[Scope], Awaitable[Response | None]]


@dataclass(frozen=True)
class _Route:
    prefix: str
    methods: frozenset[str] | None
    gate: Gate
    exempt: frozenset[str]


def add_gate(
    state: Any, prefix: str, gate: Gate, *, methods: set[str] | None = None, exempt: set[str] | None = None
) -> None:
    """Run ``gate`` (on the headers alone) for requests under ``prefix``; an answer it gives is sent instead."""
    gates: list[_Route] = getattr(state, "body_gates", [])
    gates.append(_Route(prefix, frozenset(methods) if methods else None, gate, frozenset(exempt or ())))
    state.body_gates = gates


def refusal(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    """The body every webhook's 4xx has (``{"detail": {"error": ...}}``), closing the connection."""
    return JSONResponse(
        {"detail": {"error": message}}, status_code=status, headers={"Connection": "close", **(headers or {})}
    )


class RequestLimits:
    """The middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._routes: list[_Route] | None = None  # the gates, read from the app's state on the first request
        self._prefixes: tuple[str, ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _body_headers(scope)
        early = self._too_large(declared) or await self._gate(scope)
        if early is not None:
            await early(scope, receive, send)
            return
        if not chunked:  # no body, or one the parser holds to its declared length
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:
                return  # the client went away (or its body's deadline passed): nobody is left to tell
            return
        guard = _BodyGuard(scope, receive, send, limit=self.max_body_bytes)
        try:
            await self.app(scope, guard.receive, guard.send)
        except ClientDisconnect:
            return
        except Exception:
            if not guard.answered:
                raise

    def _too_large(self, declared: int | None) -> Response | None:
        if declared is None or declared <= self.max_body_bytes:
            return None
        REFUSED.labels("size").inc()
        return refusal(413, f"body of {declared} bytes is over the limit of {self.max_body_bytes}")

    async def _gate(self, scope: Scope) -> Response | None:
        if self._routes is None:
            self._routes = list(getattr(getattr(scope.get("app"), "state", None), "body_gates", []))
            self._prefixes = tuple(route.prefix for route in self._routes)
        path = scope["path"]
        if not path.startswith(self._prefixes):
            return None
        method = scope["method"]
        for route in self._routes:
            wanted = route.methods is None or method in route.methods
            if wanted and path.startswith(route.prefix) and path not in route.exempt:
                answer = await route.gate(scope)
                if answer is not None:
                    REFUSED.labels("auth").inc()
                return answer
        return None


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None without one) and whether the body is chunked instead."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked and declared is None


class _BodyGuard:
    """Counts a chunked body as the handler reads it; answers 413 itself when it runs past the limit."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, *, limit: int) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = limit
        self.read = 0
        self.started = False
        self.answered = False

    async def receive(self) -> Message:
        if self.answered:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                REFUSED.labels("size").inc()
                return await self._answer(413, f"body is over the limit of {self.limit} bytes")
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return  # our own answer went first
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def _answer(self, status: int, text: str) -> Message:
        """Answer for the handler (unless it already started its own answer), then tell it the client left."""
        if not self.started:
            await refusal(status, text)(self.scope, _nothing, self._send)
        self.answered = True
        return {"type": "http.disconnect"}


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


__all__ = ["REFUSED", "Gate", "RequestLimits", "add_gate", "refusal"]
