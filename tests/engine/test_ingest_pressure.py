"""The ingest pressure signal: by rate, and by webhook requests waiting for their commit at once.

The signal's clock is injected: the tests step it past the rate window rather than sleep through it."""

from __future__ import annotations

from bridge.engine.ingest import IngestPressure
from tests.support.clock import StepClock


def test_a_rate_above_the_threshold_is_busy_until_the_window_passes() -> None:
    clock = StepClock()
    pressure = IngestPressure(threshold_per_second=10, window=0.2, concurrent=1000, quiet=0.1, clock=clock)
    for _ in range(3):
        pressure.record(1)
        pressure.committed()
    assert pressure.busy()
    clock.advance(0.09)
    assert pressure.busy(), "a gap shorter than `quiet` is still the burst"
    clock.advance(0.09)
    assert not pressure.busy(), "senders quiet for `quiet` seconds: the burst is over before the window ends"


def test_a_burst_that_goes_on_stays_busy_until_its_senders_go_quiet() -> None:
    clock = StepClock()
    # a long window (10 s): only the senders going quiet can end this burst early
    pressure = IngestPressure(threshold_per_second=10, window=10, concurrent=1000, quiet=0.1, clock=clock)
    pressure.record(101)  # above 10/s * 10 s
    pressure.committed()
    for _ in range(5):  # a sender every 0.06 s
        clock.advance(0.06)
        pressure.record(1)
        pressure.committed()
        assert pressure.busy()
    clock.advance(0.1)
    assert not pressure.busy(), "quiet for 0.1 s, 9.6 s before the window would end"


def test_a_request_waiting_for_its_commit_keeps_the_burst_going() -> None:
    clock = StepClock()
    pressure = IngestPressure(threshold_per_second=10, window=0.2, concurrent=1000, quiet=0.1, clock=clock)
    for _ in range(3):
        pressure.record(1)
    clock.advance(0.15)
    assert pressure.busy(), "three requests still wait for their commit"
    for _ in range(3):
        pressure.committed()
    assert not pressure.busy()


def test_the_rate_counts_within_one_window_only() -> None:
    clock = StepClock()
    pressure = IngestPressure(threshold_per_second=10, window=0.2, concurrent=1000, clock=clock)
    for _ in range(2):  # the threshold is 10/s * 0.2 s = 2 events per window: at it, not above
        pressure.record(1)
        pressure.committed()
    assert not pressure.busy()
    clock.advance(0.21)
    pressure.record(1)  # a new window: the two before no longer count
    pressure.committed()
    assert not pressure.busy()


def test_many_requests_waiting_at_once_is_busy_even_below_the_rate() -> None:
    """On a slow machine a storm may stay under the rate because background work takes the CPU; the queue of
    senders waiting for their commit still shows it."""
    clock = StepClock()
    pressure = IngestPressure(threshold_per_second=10_000, window=0.2, concurrent=3, clock=clock)
    pressure.record(1)
    pressure.record(1)
    assert not pressure.busy()
    pressure.record(1)
    assert pressure.busy()
    for _ in range(3):
        pressure.committed()
    clock.advance(0.25)
    pressure.record(1)
    assert not pressure.busy(), "one request at a time is ordinary traffic"
