"""The ingest pressure signal: by rate, and by webhook requests waiting for their commit at once."""

from __future__ import annotations

import time

from bridge.engine.ingest import IngestPressure


def test_a_rate_above_the_threshold_is_busy() -> None:
    pressure = IngestPressure(threshold_per_second=10, window=0.2, concurrent=1000)
    for _ in range(3):
        pressure.record(1)
        pressure.committed()
    assert pressure.busy()
    time.sleep(0.25)
    assert not pressure.busy()


def test_many_requests_waiting_at_once_is_busy_even_below_the_rate() -> None:
    """On a slow machine a storm may stay under the rate because background work takes the CPU; the queue of
    senders waiting for their commit still shows it."""
    pressure = IngestPressure(threshold_per_second=10_000, window=0.2, concurrent=3)
    pressure.record(1)
    pressure.record(1)
    assert not pressure.busy()
    pressure.record(1)
    assert pressure.busy()
    for _ in range(3):
        pressure.committed()
    time.sleep(0.25)
    pressure.record(1)
    assert not pressure.busy(), "one request at a time is ordinary traffic"
