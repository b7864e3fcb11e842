"""How a ServiceNow answer becomes a bridge error: ONE table, status -> (error class, metric kind).

Unknown statuses retry (transient); known-permanent ones never do. The instance's own ``error.message`` and
``error.detail`` go into the exception text and the raw body into ``body``; request headers never do, so an
Authorization header cannot leak through an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import requests

from bridge.errors import DeliveryError, PermanentError, RateLimitedError, TransientError

ErrorClass = type[DeliveryError]

STATUS_TABLE: Mapping[int, tuple[ErrorClass, str]] = {
    400: (PermanentError, "bad_request"),  # invalid table, malformed body or query
    401: (PermanentError, "unauthorized"),  # OAuth: one token renewal and retry happen before this
    403: (PermanentError, "forbidden"),  # ACL or data policy refusal
    404: (PermanentError, "not_found"),  # no such record (or an ACL hides it)
    405: (PermanentError, "method_not_allowed"),
    408: (TransientError, "timeout"),
    409: (PermanentError, "conflict"),
    413: (PermanentError, "too_large"),  # attachment over com.glide.attachment.max_size
    415: (PermanentError, "unsupported_media"),
    422: (PermanentError, "unprocessable"),
    429: (RateLimitedError, "rate_limited"),  # Retry-After / X-RateLimit-Reset honoured
    500: (TransientError, "server_error"),
    502: (TransientError, "bad_gateway"),
    503: (TransientError, "unavailable"),
    504: (TransientError, "gateway_timeout"),
}
UNKNOWN_STATUS: tuple[ErrorClass, str] = (TransientError, "unexpected_status")  # 3xx wake-up redirects too

EXCEPTION_TABLE: tuple[tuple[type[Exception], ErrorClass, str], ...] = (
    (requests.Timeout, TransientError, "timeout"),  # first: ConnectTimeout is also a ConnectionError
    (requests.exceptions.SSLError, TransientError, "tls"),  # kept retrying; check() reports it
    (requests.ConnectionError, TransientError, "connection"),
    (requests.RequestException, TransientError, "transport"),
)


class Failure(NamedTuple):
    """An error to raise and the ``kind`` label it is counted under."""

    error: DeliveryError
    kind: str


_BODY_LIMIT = 2000
_EPOCH_THRESHOLD = 1_000_000_000  # X-RateLimit-Reset above this is a Unix time, below it a delay


def error_for_status(response: requests.Response, *, what: str, wall: Callable[[], float]) -> Failure:
    """The bridge error for a non-2xx answer, with the instance's own message."""
    cls, kind = STATUS_TABLE.get(response.status_code, UNKNOWN_STATUS)
    message = f"{what} -> HTTP {response.status_code}: {servicenow_message(response)}"
    body = response.text[:_BODY_LIMIT]
    if cls is RateLimitedError:
        return Failure(RateLimitedError(message, retry_after=retry_after(response, wall), body=body), kind)
    return Failure(cls(message, status=response.status_code, body=body), kind)


def error_for_exception(exc: requests.RequestException, *, what: str) -> Failure:
    """The bridge error for a failure before any answer (connection, timeout, TLS)."""
    for exc_type, cls, kind in EXCEPTION_TABLE:
        if isinstance(exc, exc_type):
            return Failure(cls(f"{what} failed: {kind}: {type(exc).__name__}"), kind)
    return Failure(TransientError(f"{what} failed: {type(exc).__name__}"), "transport")


def unavailable(response: requests.Response, *, what: str) -> Failure:
    """A 2xx HTML page (a hibernating or waking instance) is an outage, never data."""
    error = TransientError(
        f"{what} -> HTTP {response.status_code} text/html: instance unavailable (hibernating?)",
        status=response.status_code,
        body=response.text[:_BODY_LIMIT],
    )
    return Failure(error, "html_answer")


def malformed(response: requests.Response, *, what: str, reason: str) -> Failure:
    """A 2xx answer that is not the JSON the API promises: retried, as unknown failures are."""
    return Failure(TransientError(f"{what}: {reason}", status=response.status_code), "bad_answer")


def servicenow_message(response: requests.Response) -> str:
    """``error.message (error.detail)`` from the standard envelope, else the OAuth error, else a snippet."""
    try:
        data = json.loads(response.text)
    except ValueError:
        return response.text[:200].strip() or response.reason or "no body"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        message, detail = error.get("message") or "", error.get("detail") or ""
        return f"{message} ({detail})" if detail else str(message)
    if isinstance(error, str):  # oauth_token.do: {"error": "...", "error_description": "..."}
        return f"{error}: {data.get('error_description', '')}".rstrip(": ")
    return response.text[:200]


def retry_after(response: requests.Response, wall: Callable[[], float]) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or HTTP date), else ``X-RateLimit-Reset``."""
    header = response.headers.get("Retry-After")
    if header:
        seconds = _seconds_or_date(header.strip(), wall)
        if seconds is not None:
            return seconds
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            value = float(reset.strip())
        except ValueError:
            return None
        return max(0.0, value - wall()) if value > _EPOCH_THRESHOLD else max(0.0, value)
    return None


def _seconds_or_date(header: str, wall: Callable[[], float]) -> float | None:
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - wall())
    except (TypeError, ValueError):
        return None
