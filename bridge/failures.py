"""Failures classified once: an HTTP status or exception -> what the dispatcher does about it.

Adapters raise :mod:`bridge.errors` classes; the ones speaking HTTP turn a response into the right class with
:func:`error_for_response`, passing overrides where their system differs from the default table. The dispatcher
then only asks :func:`decide`: retry (when), or dead-letter now. Unknown errors retry; known-permanent never do.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests
from tenacity import RetryCallState, Retrying, wait_exponential_jitter, wait_random_exponential

from bridge.errors import (
    DeliveryError,
    MappingError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

ErrorClass = type[DeliveryError]

#: HTTP status -> error class. Anything not listed: 4xx permanent, everything else transient.
STATUS_TABLE: dict[int, ErrorClass] = {
    408: TransientError,  # request timeout
    409: PermanentError,  # conflict: the target's data forbids it
    425: TransientError,  # too early
    429: RateLimitedError,
    500: TransientError,
    502: TransientError,
    503: TransientError,
    504: TransientError,
}


def error_class_for_status(status: int, overrides: Mapping[int, ErrorClass] | None = None) -> ErrorClass:
    if overrides and status in overrides:
        return overrides[status]
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    return PermanentError if 400 <= status < 500 else TransientError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` is either seconds or an HTTP date; return seconds from now (never negative)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def error_for_response(
    response: requests.Response,
    message: str,
    *,
    overrides: Mapping[int, ErrorClass] | None = None,
) -> DeliveryError:
    """Build (not raise) the error for a failed response, keeping the target's own answer."""
    return error_for_status(response.status_code, response.headers, response.text, message, overrides=overrides)


def error_for_status(
    status: int,
    headers: Mapping[str, str],
    text: str,
    message: str,
    *,
    overrides: Mapping[int, ErrorClass] | None = None,
) -> DeliveryError:
    """The same from a status, headers and body read by any client."""
    cls = error_class_for_status(status, overrides)
    body = text[:4000]
    said = f"{message}: HTTP {status}: {body[:500]}"
    if cls is RateLimitedError:
        wait = parse_retry_after(headers.get("Retry-After"))
        return RateLimitedError(said, retry_after=wait, status=status, body=body)
    return cls(said, status=status, body=body)


Verdict = Literal["retry", "dead"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    retry_after: float | None = None
    status: int | None = None
    body: str | None = None
    audit: tuple[dict[str, Any], ...] = ()

    @property
    def refused(self) -> bool:
        """The target answered that it did not take the request (408, 429, 503): a retry need not look for an
        effect of this try first. Anything else (no answer, a 500, a gateway's 502/504) may have taken effect."""
        return self.status in REFUSED


#: statuses that say the request was not processed: timed out waiting for it, rate-limited, unavailable
REFUSED = frozenset({408, 429, 503})


def decide(exc: BaseException) -> Decision:
    """The one place that decides retry vs dead letter for any exception an adapter raised."""
    if isinstance(exc, PermanentError | MappingError):
        return Decision(
            "dead",
            str(exc),
            status=getattr(exc, "status", None),
            body=getattr(exc, "body", None),
            audit=tuple(getattr(exc, "audit", ())),
        )
    if isinstance(exc, RateLimitedError):
        return Decision("retry", str(exc), retry_after=exc.retry_after, status=exc.status, body=exc.body)
    if isinstance(exc, TransientError):
        return Decision("retry", str(exc), status=exc.status, body=exc.body)
    if isinstance(exc, requests.Timeout):
        return Decision("retry", f"timeout: {exc}")
    if isinstance(exc, requests.ConnectionError):
        return Decision("retry", f"connection error: {exc}")
    return Decision("retry", f"unexpected {type(exc).__name__}: {exc}")


def backoff_seconds(attempt: int, retry_after: float | None, *, initial: float, maximum: float, jitter: float) -> float:
    """The wait before attempt ``attempt + 1``: the target's own ``Retry-After`` exactly when it gave one (it
    knows when it will take the call again; waiting longer only delays the record's queue), otherwise
    exponential with jitter (tenacity)."""
    if retry_after is not None:
        return retry_after
    delay = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=jitter)(_state(attempt))
    return float(delay)


def inline_wait(tries: int, retry_after: float | None, *, initial: float, maximum: float) -> float:
    """The wait before an in-process retry after try ``tries``: ``Retry-After`` exactly when given, otherwise
    exponential with full jitter (tenacity's ``wait_random_exponential``), so threads retrying together spread
    out; short, because the record's later operations wait behind this one."""
    if retry_after is not None:
        return retry_after
    return float(wait_random_exponential(multiplier=initial, max=maximum)(_state(tries)))


def _state(attempt: int) -> RetryCallState:
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return state
