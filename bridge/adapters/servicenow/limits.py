"""The request budget: a blocking token bucket, so the bridge stays under the instance's rate limit.

ServiceNow counts requests per user per hour and answers 429 once a rule is exceeded; spending at a steady
rate keeps the bridge well clear of that instead of discovering the limit by tripping it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` blocks until one is free.

    Each caller reserves its token under the lock (the balance may go negative) and sleeps outside it, so
    waiting callers are served in arrival order and never hold the lock while asleep.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
