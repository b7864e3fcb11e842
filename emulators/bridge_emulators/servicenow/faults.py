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
RATE_LIMIT_RULE = "0e6a1e6d1b2f3a10d0c7e1a2b3c4d5e6"


@dataclass(frozen=True)
class FaultConfig(base.BaseFaultConfig):
    """The knobs, settable from CLI flags, the Python API and ``POST /emulator/admin/faults``."""

    KNOWN_KINDS = FAULT_KINDS
    NON_NEGATIVE = ("latency_ms", "rate_limit", "stall_seconds")

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    stall_seconds: float = 30.0
    seed: int | None = None
    hibernate: bool = False


class FaultInjector(base.FaultInjector[FaultConfig]):
    """Draws which requests fail ("500", "503", "drop", "stall"), from a seedable RNG shared by all threads."""


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
