"""How big the chaos run is, and how long each of its waits may take: the limits scale with the size, so the
full run (5,000 alerts, 2,000 updates to one case) is judged by the rates the bridge must keep, not by a fixed
number of seconds chosen for the reduced one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    alerts: int
    updates: int
    mail_cases: int
    full: bool

    @property
    def alerts_seconds(self) -> float:
        """For every alert to be an incident once sending has stopped (at least 10 alerts/s under faults)."""
        return 60 + self.alerts / 10

    @property
    def updates_seconds(self) -> float:
        """For every partner update to be on our case after that (one record's queue: at least 5 updates/s)."""
        return 60 + self.updates / 5

    @property
    def sending_seconds(self) -> float:
        """Sending (the updates' pacing, the alerts and the restarts every 3 s), generously."""
        return 120 + self.updates * 0.05 + self.alerts / 20

    @property
    def test_seconds(self) -> int:
        """The whole test's timeout (pytest-timeout): every wait above, the idle check, and a margin."""
        return int(max(300, 1.5 * (self.sending_seconds + self.alerts_seconds + self.updates_seconds + 180)))


REDUCED = Size(alerts=400, updates=150, mail_cases=5, full=False)
FULL = Size(alerts=5000, updates=2000, mail_cases=20, full=True)


def size(full: bool) -> Size:
    return FULL if full else REDUCED
