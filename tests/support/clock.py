"""A clock a test moves by hand, for product code that takes ``clock: Callable[[], float]``: the test steps
past an interval instead of sleeping through it, so a slow machine changes nothing."""

from __future__ import annotations


class StepClock:
    """Seconds that only move when :meth:`advance` is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
