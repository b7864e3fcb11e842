"""The chaos run's limits follow its size, and only the full run writes docs/RELIABILITY.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import test_chaos
from tests.chaos.size import FULL, REDUCED, size


def test_waits_and_timeout_scale_with_the_size() -> None:
    assert size(True) is FULL and size(False) is REDUCED
    assert FULL.alerts_seconds >= FULL.alerts / 10 and FULL.updates_seconds >= FULL.updates / 5
    assert FULL.test_seconds > REDUCED.test_seconds >= 300
    waits = FULL.sending_seconds + FULL.alerts_seconds + FULL.updates_seconds
    assert FULL.test_seconds > waits, "every wait fits inside the test's own timeout"


def _counts(full: bool) -> dict[str, object]:
    return {
        "full": full,
        "alerts": 1,
        "incidents": 1,
        "distinct": 1,
        "updates": 1,
        "arrived": 1,
        "arrived_distinct": 1,
        "in_order": True,
        "echoes": 0,
        "emails": 0,
        "mail_mpans": 0,
        "kills": 2,
        "dead": 0,
        "faults": {},
        "seconds": 1.0,
    }


@pytest.mark.parametrize("full", [False, True])
def test_only_the_full_run_writes_the_report(
    full: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "RELIABILITY.md"
    monkeypatch.setattr(test_chaos, "REPORT", report)
    test_chaos._report(**_counts(full))
    assert "Alerts sent: 1" in capsys.readouterr().out, "the counts are printed either way"
    assert report.exists() is full
