"""Waiting for a condition that proves something happened, instead of sleeping and hoping it has.

The timeout is a safety net against a hang, never the thing asserted: a test that waits here passes as soon as
the condition holds, on any machine, and fails only if it never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0, what: str = "") -> None:
    """Return once ``condition()`` is truthy; AssertionError naming ``what`` if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f} s: {what or condition}")
        time.sleep(0.05)


def wait_until_stable(probe: Callable[[], T | None], *, timeout: float = 60.0, what: str = "") -> T:
    """Return the first snapshot ``probe()`` gives twice in a row (None means busy): quiescence, proven by
    two equal looks, so work that starts between them (an echo, a late poll) is caught."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        now = probe()
        if now is not None and now == last:
            return now
        last = now
        if time.monotonic() > deadline:
            raise AssertionError(f"not idle in {timeout:.0f} s: {what or probe}; last look: {now!r}")
        time.sleep(0.1)
