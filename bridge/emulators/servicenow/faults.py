"""Fault injection: latency, per-user rate limiting, random failures, hibernation.

Rate limiting mimics the platform's inbound REST rate limits (ServiceNowDocs
``markdown/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.md``): requests over the limit get
429 with ``Retry-After``, ``X-RateLimit-Limit``, ``X-RateLimit-Reset`` (Unix time of the next reset) and
``X-RateLimit-Rule`` headers and the "Rate limit exceeded" error envelope. The platform counts per hour;
the emulator counts per second so tests and benchmarks can reach the limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

FAULT_KINDS: tuple[str, ...] = ("500", "503", "drop", "stall")
RATE_LIMIT_RULE = "0e6a1e6d1b2f3a10d0c7e1a2b3c4d5e6"


@dataclass(frozen=True)
class FaultConfig:
    """The knobs, settable from CLI flags, the Python API and ``POST /emulator/admin/faults``."""

    latency_ms: float = 0.0
    rate_limit: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    stall_seconds: float = 30.0
    seed: int | None = None
    hibernate: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown or not self.fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {', '.join(FAULT_KINDS)}")
        if self.latency_ms < 0 or self.rate_limit < 0 or self.stall_seconds < 0:
            raise ValueError("latency_ms, rate_limit and stall_seconds must not be negative")

    def updated(self, changes: Mapping[str, object]) -> FaultConfig:
        """A copy with some knobs changed; unknown names or bad values raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = dict(changes)
        if "fault_kinds" in values:
            kinds = values["fault_kinds"]
            values["fault_kinds"] = tuple(kinds.split(",") if isinstance(kinds, str) else kinds)  # type: ignore[arg-type]
        return replace(self, **values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        data = asdict(self)
        data["fault_kinds"] = list(self.fault_kinds)
        return data


class FaultInjector:
    """Draws which requests fail, from a seedable RNG shared by all server threads."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._rng = random.Random(config.seed)

    def configure(self, config: FaultConfig, *, reseed: bool = False) -> None:
        """Swap the knobs; ``reseed`` (a seed was given) restarts the random sequence."""
        with self._lock:
            if reseed:
                self._rng = random.Random(config.seed)
            self.config = config

    def draw(self) -> str | None:
        """The fault for the next request ("500", "503", "drop", "stall") or None."""
        with self._lock:
            config = self.config
            if config.fault_rate <= 0:
                return None
            if self._rng.random() >= config.fault_rate:
                return None
            return self._rng.choice(config.fault_kinds)


class RateLimiter:
    """Fixed one-second windows per user, aligned to the clock so X-RateLimit-Reset is a whole second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, user: str, limit: int, now: float | None = None) -> tuple[bool, int]:
        """Count one request: (allowed, Unix time of the next reset)."""
        moment = time.time() if now is None else now
        window = int(moment)
        with self._lock:
            start, count = self._windows.get(user, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._windows[user] = (start, count)
        return count <= limit, window + 1

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._windows.clear()


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
