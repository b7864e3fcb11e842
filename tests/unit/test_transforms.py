"""The named transforms a mapping may use: pure functions tested with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.mappings.transforms import (
    ELLIPSIS,
    TRANSFORMS,
    epoch_to_servicenow,
    iso_to_servicenow,
    join,
    priority,
    truncate,
)

VALID_MPAN = "1200023305967"  # 13-digit core with a correct check digit (see tests/unit/test_redaction.py)


def test_the_registry_is_the_documented_list() -> None:
    assert set(TRANSFORMS) == {
        "priority",
        "redact_mpans",
        "iso_to_servicenow",
        "epoch_to_servicenow",
        "truncate",
        "clip",
        "lower",
        "upper",
        "strip",
        "join",
        "sort",
        "text",
    }


@pytest.mark.parametrize(
    ("value", "urgency", "expected"),
    [
        ("high", "high", "1"),
        ("High", "medium", "2"),
        ("2 - Medium", "1", "2"),
        ({"impact": "low", "urgency": "low"}, None, "4"),
        (["medium", "medium"], None, "3"),
    ],
)
def test_priority_follows_the_manual_matrix(value: object, urgency: object, expected: str) -> None:
    assert priority(value, urgency) == expected


def test_priority_refuses_what_is_not_a_level_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="must be high, medium or low") as caught:
        priority("urgent", "high")
    assert "urgent" not in str(caught.value)
    with pytest.raises(ValueError, match="needs an impact and an urgency"):
        priority("high")


def test_redact_mpans_removes_a_valid_core() -> None:
    assert VALID_MPAN not in TRANSFORMS["redact_mpans"](f"meter {VALID_MPAN} stuck")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T09:30:00+01:00", "2026-03-01 08:30:00"),
        ("2026-03-01T09:30:00Z", "2026-03-01 09:30:00"),
        ("2026-07-01T09:30:00.123456", "2026-07-01 09:30:00"),
        ("2026-07-01", "2026-07-01 00:00:00"),
    ],
)
def test_iso_to_servicenow_is_utc_in_servicenow_form(value: str, expected: str) -> None:
    assert iso_to_servicenow(value) == expected


def test_epoch_to_servicenow_and_bad_input() -> None:
    assert epoch_to_servicenow(0) == "1970-01-01 00:00:00"
    assert epoch_to_servicenow("1772357400") == "2026-03-01 09:30:00"
    with pytest.raises(ValueError, match="not a Unix time"):
        epoch_to_servicenow("soon")
    with pytest.raises(ValueError, match="not an ISO 8601"):
        iso_to_servicenow("yesterday")


def test_text_transforms() -> None:
    assert TRANSFORMS["lower"]("AbC") == "abc" and TRANSFORMS["upper"]("AbC") == "ABC"
    assert TRANSFORMS["strip"]("  x ") == "x" and TRANSFORMS["text"](None) == ""
    assert join(["b", 1, None]) == "b, 1, " and join("one") == "one" and join(["a", "b"], "|") == "a|b"
    assert TRANSFORMS["sort"](["b", "a"]) == ["a", "b"]
    assert TRANSFORMS["clip"]("abcdef", 4) == "abcd" and TRANSFORMS["clip"](None, 4) == ""


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=200))
def test_truncate_fits_and_keeps_both_ends(text: str, width: int) -> None:
    out = truncate(text, width)
    assert len(out) <= width
    if len(text) <= width:
        assert out == text
    else:  # some head of the text, the ellipsis, some tail (found by lengths: the text may hold "…" itself)
        assert len(out) == width
        assert any(out == text[:k] + ELLIPSIS + text[len(text) - (width - 1 - k) :] for k in range(width))


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)), offsets)
def test_iso_and_epoch_agree_for_the_same_moment(moment: datetime, offset: timezone) -> None:
    aware = moment.replace(tzinfo=offset, microsecond=0)
    expected = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert iso_to_servicenow(aware.isoformat()) == expected
    assert epoch_to_servicenow(aware.timestamp()) == expected
