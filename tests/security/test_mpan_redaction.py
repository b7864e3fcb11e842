"""Issue 15, "MPANs reach email": the written forms the redactor used to miss, and the labels it ignored.

Each form carries the issue's own example MPAN core (``1200023305967``, check digit valid); the look-alikes
that must survive are in tests/unit/test_redaction.py and in the property tests of this folder.
"""

from __future__ import annotations

import pytest

from bridge.mappings.redaction import find_mpans, is_mpan_label, redact_mpans

M = "1200023305967"
BAD = "1200023305964"  # the same digits with a wrong check digit
SUPERSCRIPT = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
SUBSCRIPT = str.maketrans("0123456789", "".join(chr(0x2080 + d) for d in range(10)))
CIRCLED = str.maketrans("0123456789", "\u24ea" + "".join(chr(0x2460 + d) for d in range(9)))

INVISIBLE = {
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "word joiner": "\u2060",
    "invisible separator": "\u2063",
    "soft hyphen": "\u00ad",
    "variation selector": "\ufe0f",
    "combining grapheme joiner": "\u034f",
    "embedding control": "\u202a",
    "isolate control": "\u2066",
    "tag character": "\U000e0020",
    "combining accent": "\u0301",
    "twenty marks in a row": "\u200e" * 20,
}

FORMS = {
    "glued to MPAN": f"see MPAN{M} please",
    "glued to meter": f"meter{M}",
    "glued to Core": f"Core{M}",
    "glued to a unit": f"{M}kWh used",
    "glued to a label, grouped": "MPAN12 0002 3305 967",
    "superscript digits": M.translate(SUPERSCRIPT),
    "subscript digits": M.translate(SUBSCRIPT),
    "circled digits": M.translate(CIRCLED),
    "thousands separators": "1,200,023,305,967",
    "bill layout with pipes": "12 | 0002 | 3305 | 967",
    "bill layout, tight pipes": "12|0002|3305|967",
    **{f"split by {name}": mark.join(M) for name, mark in INVISIBLE.items()},
}


@pytest.mark.parametrize("text", FORMS.values(), ids=FORMS.keys())
def test_every_form_is_found_and_redacted(text: str) -> None:
    assert find_mpans(text) == [M]
    redacted = redact_mpans(text, "[gone]")
    assert "[gone]" in redacted
    digits = "".join(str(int(ch)) for ch in redacted if ch.isdecimal())
    assert "2330596" not in digits, redacted


LABELS = ["MSID", "S-number", "S number", "Supply number", "Meter point", "MPAN core", "MPAN"]


@pytest.mark.parametrize("label", LABELS)
def test_a_mistyped_number_after_any_label_is_redacted(label: str) -> None:
    text = f"Please check {label}: {BAD} today"
    assert find_mpans(text) == [BAD]
    assert redact_mpans(text, "[gone]") == f"Please check {label}: [gone] today"


@pytest.mark.parametrize("name", ["msid", "MSID", "s_number", "S-number"])
def test_label_names_for_json_keys(name: str) -> None:
    assert is_mpan_label(name)


SURVIVE = [
    "abc1234567890126",  # a hex identifier (sys_id, hash) that happens to hold 13 digits
    "1234567890126abc",
    "a1b2c3d41234567890126e5f6",
    f"the customer's number {BAD}",
    "Total £1,234,567.89",
    "INC0010001 CS0012345",
]


@pytest.mark.parametrize("text", SURVIVE)
def test_look_alikes_still_survive(text: str) -> None:
    assert find_mpans(text) == []
    assert redact_mpans(text) == text


def test_positions_map_back_when_invisible_characters_are_dropped() -> None:
    """The scan drops invisible characters; the redaction must still cut the original text in the right place."""
    text = "a\u200bb " + "\u200e".join(M) + " c\u2060d"
    assert redact_mpans(text, "[gone]") == "a\u200bb [gone] c\u2060d"


@pytest.mark.parametrize(
    "hostile", ["1%20" * 4000, "<b>1</b>" * 2000, "1\n> " * 4000, "1|" * 8000, "1&nbsp;" * 2300, "1\u200e" * 8000]
)
def test_hostile_digit_soup_is_handled_in_one_pass(hostile: str) -> None:
    """Every digit of these used to start a window judged in Python; now each finishes and finds nothing."""
    assert find_mpans(hostile) == []


def test_a_table_of_long_numbers_between_pipes_is_not_one_number() -> None:
    """Pipes join a bill's short groups, not a table's cells: ``| 12345678 | 12345 |`` is two numbers."""
    assert find_mpans("| 12000233 | 05967 |") == []
    assert find_mpans("| 12 | 0002 | 3305 | 967 |") == [M]
