"""Shared webhook plumbing: bounded body reading, token checks, clear 4xx answers."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from bridge import metrics
from bridge.errors import InputError
from bridge.server.throttle import refused
from bridge.store import inbox as ib
from bridge.store.inbox import Accepted


def reject(status: int, message: str, *, source: str, reason: str, path: str | None = None) -> HTTPException:
    """A 4xx with a body that says what is wrong (and where), counted by reason."""
    metrics.EVENTS_REJECTED.labels(source, reason).inc()
    detail: dict[str, str] = {"error": message}
    if path:
        detail["path"] = path
    return HTTPException(status_code=status, detail=detail)


def auth_failed(request: Request, message: str, *, source: str) -> HTTPException:
    """401 for a wrong or missing credential, or 429 once this client has failed too often (see throttle)."""
    metrics.EVENTS_REJECTED.labels(source, "auth").inc()
    return refused(request, source, message)


async def read_body(request: Request, *, limit: int, source: str) -> bytes:
    """Read at most ``limit`` bytes; larger bodies get 413 without being read whole into memory."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise reject(413, f"body of {declared} bytes is over the limit of {limit}", source=source, reason="size")
    if declared and declared.isdigit():
        return await request.body()  # the declared length is within the limit, and the server enforces it
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise reject(413, f"body is over the limit of {limit} bytes", source=source, reason="size")
        chunks.append(chunk)
    return b"".join(chunks)


def presented_token(request: Request) -> str | None:
    """The token a caller sent: `Authorization: Bearer`, `X-Bridge-Token`, or `?token=` (Azure's form)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-bridge-token") or request.query_params.get("token")


def token_matches(presented: str | None, accepted: Iterable[str]) -> bool:
    """Constant-time comparison against every accepted token (several, so one can be rotated)."""
    if not presented:
        return False
    ok = False
    for token in accepted:
        if token and hmac.compare_digest(presented.encode(), token.encode()):
            ok = True
    return ok


def accepted_response(accepted: Accepted) -> JSONResponse:
    """202 with the new event id, or 200 with the first id for a redelivery (the sender may stop retrying)."""
    if accepted.duplicate:
        return JSONResponse({"status": "duplicate", "event_id": accepted.event_id}, status_code=200)
    return JSONResponse({"status": "accepted", "event_id": accepted.event_id}, status_code=202)


def as_event(source: str, make: Callable[[], ib.NewEvent]) -> ib.NewEvent:
    """The event a source makes of a body, or the 400 naming the JSON path its InputError gives."""
    try:
        return make()
    except InputError as exc:
        raise reject(400, exc.message, source=source, reason="invalid", path=exc.path) from exc
