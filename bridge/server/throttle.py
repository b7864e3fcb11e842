"""Failed authentication, limited per client (issue 15, "Guessing").

Each client (its address, as uvicorn reports it: behind a trusted proxy, the forwarded one) has a bucket of
``server.auth_failures_burst`` failures that refills at ``server.auth_failures_per_minute``. A wrong or missing
credential when the bucket is empty is answered 429 with ``Retry-After`` (the seconds until one failure is
allowed again) instead of 401, counted in ``bridge_auth_throttled_total`` and logged (once per client each time
it starts being throttled). Every failure is counted in ``bridge_auth_failures_total``.

The right credential is always checked first and always accepted: a client sharing an address with a guesser
(or behind the same proxy) is never locked out, and no one can lock a legitimate sender out by failing on
purpose. What this buys is visibility and a polite client's slow-down; what makes guessing hopeless is the
length of the secrets (`bridge config check` refuses short ones, see :mod:`bridge.config_secrets`).
One bucket table per process, bounded to ``MAX_CLIENTS`` (least recently failed forgotten first).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from prometheus_client import Counter

log = logging.getLogger("bridge.auth")
FAILURES = Counter("bridge_auth_failures_total", "Requests with a wrong or missing credential", ["surface"])
THROTTLED = Counter(
    "bridge_auth_throttled_total", "Failed authentications answered 429 (too many from one client)", ["surface"]
)
MAX_CLIENTS = 10_000
SURFACES = ("admin", "admin-login", "azure-monitor", "forward", "servicenow", "jira")
for _surface in SURFACES:
    FAILURES.labels(_surface)
    THROTTLED.labels(_surface)


@dataclass
class _Bucket:
    tokens: float
    at: float
    throttled: bool = False


class FailedAuthLimiter:
    """The per-client buckets (see the module docstring); thread-safe, the clock injectable for tests."""

    def __init__(self, *, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, client: str, surface: str) -> float | None:
        """Record a failure; None while the client is within its budget, else the seconds to wait."""
        FAILURES.labels(surface).inc()
        now = self.clock()
        with self._lock:
            bucket = self._refilled(client, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.throttled = False
                return None
            first = not bucket.throttled
            bucket.throttled = True
            wait = (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 3600.0
        THROTTLED.labels(surface).inc()
        if first:
            log.warning(
                "too many failed authentications; answering 429",
                extra={"client": client, "surface": surface, "retry_after": math.ceil(wait)},
            )
        return wait

    def _refilled(self, client: str, now: float) -> _Bucket:
        bucket = self._buckets.pop(client, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[client] = bucket
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return bucket


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> FailedAuthLimiter | None:
    return getattr(request.app.state, "auth_limiter", None)


def refused(
    request: Request, surface: str, message: str, *, status: int = 401, headers: dict[str, str] | None = None
) -> HTTPException:
    """The answer to a failed authentication: ``status`` (401), or 429 with ``Retry-After`` past the budget."""
    limiter = limiter_of(request)
    wait = limiter.failed(client_of(request), surface) if limiter is not None else None
    if wait is None:
        return HTTPException(status, {"error": message}, headers=headers)
    retry = str(max(1, math.ceil(wait)))
    detail = {"error": f"too many failed authentications from this client; retry in {retry} s"}
    return HTTPException(429, detail, headers={"Retry-After": retry, "Connection": "close"})


__all__ = ["FAILURES", "THROTTLED", "FailedAuthLimiter", "client_of", "limiter_of", "refused"]
