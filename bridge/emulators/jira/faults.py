"""Fault injection: latency, a per-user rate limit with Retry-After, random 500 / 503 / dropped connections.

Jira Cloud answers a request over its rate limit with 429, a ``Retry-After`` header (seconds) and
``X-RateLimit-*`` headers (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/). The emulator
counts requests per user in one-second windows so a test can reach the limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

FAULT_KINDS: tuple[str, ...] = ("500", "503", "drop")
#: ``lost`` is opt-in: the request takes effect, then the connection drops before the answer (an uncertain write).
KNOWN_FAULTS: tuple[str, ...] = (*FAULT_KINDS, "lost")


@dataclass(frozen=True)
class FaultConfig:
    """The knobs, settable from CLI flags, the Python API and ``POST /emulator/admin/faults``."""

    latency_ms: float = 0.0
    rate_limit: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(KNOWN_FAULTS)
        if unknown or not self.fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {', '.join(KNOWN_FAULTS)}")
        if self.latency_ms < 0 or self.rate_limit < 0:
            raise ValueError("latency_ms and rate_limit must not be negative")

    def updated(self, changes: Mapping[str, object]) -> FaultConfig:
        """A copy with some knobs changed; unknown names or bad values raise ValueError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = dict(changes)
        kinds = values.get("fault_kinds")
        if isinstance(kinds, str):
            values["fault_kinds"] = tuple(kinds.split(","))
        elif isinstance(kinds, list | tuple):
            values["fault_kinds"] = tuple(str(k) for k in kinds)
        return replace(self, **values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        data = asdict(self)
        data["fault_kinds"] = list(self.fault_kinds)
        return data


class FaultInjector:
    """Draws which requests fail, from one seedable RNG shared by all server threads."""

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
        """The fault for the next request ("500", "503", "drop", "lost") or None."""
        with self._lock:
            if self.config.fault_rate <= 0 or self._rng.random() >= self.config.fault_rate:
                return None
            return self._rng.choice(self.config.fault_kinds)


class RateLimiter:
    """Fixed one-second windows per user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, user: str, limit: int, now: float | None = None) -> tuple[bool, int]:
        """Count one request: (allowed, Unix time the window resets)."""
        window = int(time.time() if now is None else now)
        with self._lock:
            start, count = self._windows.get(user, (window, 0))
            if start != window:
                start, count = window, 0
            self._windows[user] = (start, count + 1)
        return count + 1 <= limit, window + 1

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._windows.clear()
