"""Fault injection: latency, per-user rate limiting, random failures, hibernation.

Rate limiting mimics the platform's inbound REST rate limits (ServiceNowDocs
``markdown/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.md``): requests over the limit get
429 with ``Retry-After``, ``X-RateLimit-Limit``, ``X-RateLimit-Reset`` (Unix time of the next reset) and
``X-RateLimit-Rule`` headers and the "Rate limit exceeded" error envelope. The platform counts per hour;
the emulator counts per second so tests and benchmarks can reach the limit. The machinery is shared
(:mod:`.._base.faults`); this module names the instance's fault kinds and knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._base import faults as base
from .._base.faults import RateLimiter as RateLimiter

FAULT_KINDS: tuple[str, ...] = ("500", "503", "drop", "stall")
#: the answers to an injected "500" or "503" (a whole call's or one Batch API item's)
FAULT_RESPONSES = {
    "500": (500, "Internal Server Error", "The emulator injected a server error"),
    "503": (503, "Service Unavailable", "The emulator injected an unavailable instance"),
}
#: the REST Batch API request timeout transaction quota: a batch still running after it is cut short
BATCH_TIME_BUDGET = 30.0
RATE_LIMIT_RULE = "0e6a1e6d1b2f3a10d0c7e1a2b3c4d5e6"


@dataclass(frozen=True)
class FaultConfig(base.BaseFaultConfig):
    """The knobs, settable from CLI flags, the Python API and ``POST /emulator/admin/faults``."""

    KNOWN_KINDS = FAULT_KINDS
    NON_NEGATIVE = ("latency_ms", "rate_limit", "stall_seconds", "batch_limit", "batch_time_budget")

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    stall_seconds: float = 30.0
    seed: int | None = None
    hibernate: bool = False
    #: Batch API: items served per batch before the rest come back as ``unserviced_requests`` (0: no limit);
    #: stands in for the size and processing limits that cut a real batch short
    batch_limit: int = 0
    #: Batch API: seconds a batch may run before its remaining items are unserviced (the 30 s quota rule)
    batch_time_budget: float = BATCH_TIME_BUDGET
    #: a write (direct or a batch item) whose body contains this text is answered with ``fail_status``
    fail_matching: str = ""
    fail_status: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 400 <= self.fail_status <= 599:
            raise ValueError("fail_status must be an HTTP error status (400-599)")


class FaultInjector(base.FaultInjector[FaultConfig]):
    """Draws which requests fail ("500", "503", "drop", "stall"), from a seedable RNG shared by all threads."""

    def planted(self, method: str, body: bytes) -> tuple[int, str, str] | None:
        """The error planted for this write by ``fail_matching`` (status, message, detail), else None."""
        text = self.config.fail_matching
        if not text or method not in ("POST", "PUT", "PATCH") or text.encode() not in body:
            return None
        return self.config.fail_status, "Operation Failed", f"The emulator fails writes containing {text!r}"


def rate_limit_headers(limit: int, reset_at: int) -> list[tuple[str, str]]:
    """The headers the platform adds to a request matched by a rate limit rule."""
    return [
        ("X-RateLimit-Limit", str(limit)),
        ("X-RateLimit-Reset", str(reset_at)),
        ("X-RateLimit-Rule", RATE_LIMIT_RULE),
    ]


HIBERNATING_PAGE = b"""<!DOCTYPE html>
<html><head><title>Instance Hibernating page</title></head>
<body><h1>Your instance is hibernating</h1>
<p>This developer instance is asleep to save resources. Sign in to the developer portal and wake it up;
it will be available again in a few minutes.</p></body></html>
"""
