"""MPAN detection: every written form is found, and the numbers that merely look alike survive."""

from __future__ import annotations

import logging
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bridge.mappings.redaction import (
    DEFAULT_REPLACEMENT,
    MpanRedactingFilter,
    find_mpans,
    is_mpan_label,
    is_valid_mpan_core,
    mpan_check_digit,
    redact_and_count,
    redact_html,
    redact_mpans,
)

WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
M = "1234567890126"  # valid: the check digit of 123456789012 is 6
BAD = "1234567890124"  # same digits, wrong check digit


def reference_check_digit(first12: str) -> int:
    """The rule as the brief states it, written independently of the module."""
    return sum(int(d) * w for d, w in zip(first12, WEIGHTS, strict=True)) % 11 % 10


def with_check(first12: str) -> str:
    return first12 + str(reference_check_digit(first12))


# --- the check digit ---------------------------------------------------------------------------------


def test_check_digit_matches_the_stated_rule() -> None:
    assert mpan_check_digit("123456789012") == 6
    assert is_valid_mpan_core(M)
    assert not is_valid_mpan_core(BAD)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_check_digit_agrees_with_reference(first12: str) -> None:
    assert mpan_check_digit(first12) == reference_check_digit(first12)
    assert is_valid_mpan_core(first12 + str(reference_check_digit(first12)))
    assert not is_valid_mpan_core(first12 + str((reference_check_digit(first12) + 1) % 10))


@pytest.mark.parametrize("value", ["12345678901", "1234567890123x", "", "12345678901a"])
def test_check_digit_refuses_other_input(value: str) -> None:
    with pytest.raises(ValueError):
        mpan_check_digit(value)


def test_core_validity_needs_13_decimal_digits() -> None:
    assert not is_valid_mpan_core(M[:12])
    assert not is_valid_mpan_core(M + "0")
    assert is_valid_mpan_core("".join(chr(0xFF10 + int(d)) for d in M))  # full-width digits


# --- forms people write -------------------------------------------------------------------------------

FOUND = {
    "plain": f"Meter {M} failed",
    "spaces": "Meter 12 3456 7890 126 failed",
    "nbsp": "Meter 12\u00a03456\u00a07890\u00a0126 failed",
    "thin space": "Meter 12\u20093456\u20097890\u2009126",
    "hyphens": "ref 1234-5678-90126.",
    "spaced hyphens": "ref 12 - 3456 - 7890 - 126",
    "dots": "12.3456.7890.126",
    "slashes": "12/3456/7890/126",
    "en dash": "12\u20133456\u20137890\u2013126",
    "full MPAN one line": "S 01 801 100 12 3456 7890 126",
    "full MPAN glued S": "S01801100 1234567890126",
    "full MPAN 21 digits": "018011001234567890126",
    "full MPAN two rows": "S  01  801  100\n   12  3456  7890  126",
    "full MPAN quoted two rows": "> S 01 801 100\n> 12 3456 7890 126",
    "html cells": "<tr><td>12</td><td>3456789012</td><td>6</td></tr>",
    "html bold": "12<b>345</b>67890126",
    "html spans with attributes": '<span style="x:1">1234</span> <span class="n2">567890126</span>',
    "html entity": "12&nbsp;3456&nbsp;7890&nbsp;126",
    "line break": "meter 1234567\n890126 please",
    "crlf": "meter 12 3456\r\n7890 126",
    "quoted reply": "> meter 12 3456\n> 7890 126 failed",
    "nested quote": ">> 1234567890\n>> 126",
    "full width": "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12\uff16",
    "arabic-indic": "".join(chr(0x0660 + int(d)) for d in M),
    "devanagari grouped": " ".join("".join(chr(0x0966 + int(d)) for d in g) for g in ("12", "3456", "7890", "126")),
    "subject": f"RE: [CS0012345] DIP rejection for {M}",
    "url query": f"https://portal.example/meter?mpan={M}&view=1",
    "url path": f"https://portal.example/meters/{M}/reads",
    "url percent space": "https://x.example/?q=12%203456%207890%20126",
    "url percent hyphen": f"https://x.example/?q=%2D{M}",
    "url plus": "https://x.example/?q=12+3456+7890+126",
    "url nbsp escape": f"?q=MPAN%3A%C2%A0{M}",
    "json": f'{{"mpan": "{M}"}}',
    "csv": f"id,mpan,read\n7,{M},5",
    "tab table": f"7\t{M}\t2024-05-01",
    "numbered list": "1. 12 3456 7890 126\n2. 23 4567 8901 23",
    "after an identifier": "CS0012345 12 3456 7890 126",
    "parenthesised": f"(MPAN {M})",
    "index column": f"3 {M}",
}


@pytest.mark.parametrize("text", FOUND.values(), ids=FOUND.keys())
def test_found_and_redacted(text: str) -> None:
    assert M in find_mpans(text)
    redacted = redact_mpans(text)
    assert DEFAULT_REPLACEMENT in redacted
    assert find_mpans(redacted) == []
    assert M not in "".join(ch for ch in redacted if ch.isascii() and ch.isdigit())


def test_full_mpan_top_line_goes_with_the_core() -> None:
    assert redact_mpans("S 01 801 100 12 3456 7890 126 ok") == f"S {DEFAULT_REPLACEMENT} ok"
    assert redact_mpans("S 01 801 100\n 12 3456 7890 126") == f"S {DEFAULT_REPLACEMENT}\n "
    assert redact_mpans(f"01801100{M}") == DEFAULT_REPLACEMENT


def test_html_structure_is_kept() -> None:
    html = "<tr><td>12</td><td>3456789012</td><td>6</td><td>ok</td></tr>"
    assert redact_html(html, "<x> & y") == "<tr><td>&lt;x&gt; &amp; y</td><td></td><td></td><td>ok</td></tr>"


def test_quoted_line_structure_is_kept() -> None:
    assert redact_mpans("> 12 3456\n> 7890 126 ok") == f"> {DEFAULT_REPLACEMENT}\n>  ok"


def test_several_in_one_text_in_order() -> None:
    other = with_check("234567890123")
    text = f"first {M}, then 23 4567 8901 23{other[-1]} and <td>{other}</td>"
    assert find_mpans(text) == [M, other, other]


def test_lists_side_by_side() -> None:
    other = with_check("234567890123")
    assert find_mpans(f"{M} {other}") == [M, other]
    assert find_mpans(f"12 3456 7890 126 23 4567 8901 23{other[-1]}") == [M, other]


def test_count() -> None:
    assert redact_and_count(f"{M} and {M}", "X") == ("X and X", 2)
    assert redact_and_count("nothing here", "X") == ("nothing here", 0)


# --- labels ---------------------------------------------------------------------------------------------

LABELLED = [
    f"MPAN: {BAD}",
    f"mpan {BAD}",
    f"MPAN core #{BAD}",
    f"MPAN-core: {BAD}",
    "Meter point: 12 3456 7890 124",
    f"meter point no. {BAD}",
    f"Meter Point Administration Number: {BAD}",
    f"supply number - {BAD}",
    f"Supply No. {BAD}",
    f"The MPAN is {BAD}.",
    f"MPAN(s): {BAD}",
    f"?mpan={BAD}",
    f"<th>MPAN</th><td>{BAD}</td>",
    f'"mpan": {BAD}',
    "MPAN: S 01 801 100 12 3456 7890 124",
]


@pytest.mark.parametrize("text", LABELLED)
def test_label_makes_any_13_digits_an_mpan(text: str) -> None:
    assert find_mpans(text) == [BAD]
    assert find_mpans(redact_mpans(text)) == []
    assert "124" not in redact_mpans(text).replace("MPAN", "")


def test_a_label_covers_a_list() -> None:
    other = "2234567890124"
    assert find_mpans(f"MPANs: {BAD}, {other} and 3234567890124") == [BAD, other, "3234567890124"]


def test_a_label_far_away_does_not_count() -> None:
    assert find_mpans(f"MPAN details are held in the portal. Order {BAD}") == []
    assert find_mpans(f"MPAN: 12345 ({BAD})") == []


@pytest.mark.parametrize(
    "name", ["mpan", "MPAN", "mpan_core", "MPAN Core", "mpanCore", "meter_point_id", "supply_number"]
)
def test_label_names(name: str) -> None:
    assert is_mpan_label(name)


@pytest.mark.parametrize("name", ["date", "mpan_count", "notes", "supplier"])
def test_not_label_names(name: str) -> None:
    assert not is_mpan_label(name)


# --- look-alikes that survive ----------------------------------------------------------------------------

SURVIVE = [
    "Call us on 03700 106950",
    "+44 3700 106950",
    "+44 (0)20 7380 4100",
    "T: 03700 106950 | M: +44 7700 900123",
    "Tel 03700 106950 / 020 7380 4100",
    "020 7380 4100 / 07700 900123",
    "INC0010001",
    "CS0012345 RITM0001234 CHG0030002 PRB0040001",
    "2024-05-01 10:22:33",
    "2024-05-01T10:22:33.123456Z",
    "01/05/2024 10:22",
    "20240501102233",
    "9d385017c611228701d22104cc95c371",
    "sys_id=46d44a23a9fe19810012d100cca80666",
    "a1b2c3d41234567890126e5f6",
    "Order 4500012345",
    "PO-2024-000123",
    "4111 1111 1111 1111",
    "192.168.100.200 - 10.0.0.1",
    "550e8400-e29b-41d4-a716-446655440000",
    "£1,234,567.89",
    BAD,
    f"reference {BAD} attached",
    "12 3456 7890 124",
    "1234567890126abc",
    "abc1234567890126",
    "5 12 3456 7890 126",  # grouped after another number is ambiguous: not read as an MPAN
]


@pytest.mark.parametrize("text", SURVIVE)
def test_look_alikes_survive(text: str) -> None:
    assert find_mpans(text) == []
    assert redact_mpans(text) == text


def test_empty_and_digit_free_text() -> None:
    assert find_mpans("") == []
    assert redact_mpans("no numbers at all") == "no numbers at all"


# --- property tests ----------------------------------------------------------------------------------------

digits12 = st.text(alphabet="0123456789", min_size=12, max_size=12)
valid_cores = digits12.map(with_check)
invalid_cores = digits12.flatmap(
    lambda d: st.integers(1, 9).map(lambda k: d + str((reference_check_digit(d) + k) % 10))
)
SEPARATORS = [" ", "\u00a0", "-", ".", "/", " - ", "\u2009", "\u202f", "  ", "\u2013"]
SPLITS = ["</td><td>", "<b>", "</b>", "<span>", '</span> <span class="v">', "<br>", "&nbsp;", "</td>\n  <td>"]
BREAKS = ["\n", "\r\n", "\n> ", "\n>> ", "-\n"]
ZEROS = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE]
# A number only starts after something that is not digits-and-a-separator: "5 12 3456..." is ambiguous. A pipe
# is a separator since issue 15 (bills lay an MPAN out as "12 | 3456 | 7890 | 126"), so it is no delimiter here.
DELIMITERS = ["; ", ": ", " (", ") ", ", ", "\n\n", " [", "] ", "=", " MPAN "]
UNLABELLED = [d for d in DELIMITERS if "MPAN" not in d]
filler = st.text(max_size=40)


@st.composite
def split_points(draw: st.DrawFn, length: int) -> list[int]:
    cuts = draw(st.lists(st.integers(1, length - 1), max_size=5, unique=True))
    return sorted(cuts)


@st.composite
def written(draw: st.DrawFn, core: str) -> str:
    """``core`` the way a person might write it."""
    kind = draw(st.sampled_from(["plain", "grouped", "html", "lines", "url", "full"]))
    digits = core
    zero = draw(st.sampled_from(ZEROS))
    if zero != 0x30 and kind != "url":
        digits = "".join(chr(zero + int(d)) for d in core)
    if kind == "plain":
        return digits
    if kind == "url":
        joiner = draw(st.sampled_from(["", "%20", "+", "%2D"]))
        return "https://portal.example/case?mpan=" + _join(digits, draw(split_points(13)), lambda: joiner)
    if kind == "full":
        return draw(full_mpan(digits))
    pool = {"grouped": SEPARATORS, "html": SPLITS, "lines": BREAKS}[kind]
    return _join(digits, draw(split_points(13)), lambda: draw(st.sampled_from(pool)))


@st.composite
def full_mpan(draw: st.DrawFn, core: str) -> str:
    top = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    shape = draw(st.sampled_from([(8,), (2, 3, 3), (2, 6), (5, 3)]))
    sep = draw(st.sampled_from([" ", "  ", "-"]))
    parts, pos = [], 0
    for size in shape:
        parts.append(top[pos : pos + size])
        pos += size
    between = draw(st.sampled_from([" ", "\n   ", "\n> ", "</td><td>"]))
    marker = draw(st.sampled_from(["S ", "S", ""]))
    core_sep = draw(st.sampled_from(["", " ", "-"]))
    grouped_core = _join(core, [2, 6, 10] if core_sep else [], lambda: core_sep)
    return f"{marker}{sep.join(parts)}{between}{grouped_core}"


def _join(text: str, cuts: list[int], joiner: object) -> str:
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(text[last:cut])
        last = cut
    pieces.append(text[last:])
    out = pieces[0]
    for piece in pieces[1:]:
        out += joiner() + piece  # type: ignore[operator]
    return out


@settings(
    max_examples=int(os.environ.get("MPAN_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data(), core=valid_cores)
def test_property_valid_mpan_in_any_form_is_found_and_removed(data: st.DataObject, core: str) -> None:
    form = data.draw(written(core))
    before = data.draw(filler) + data.draw(st.sampled_from(DELIMITERS))
    after = data.draw(st.sampled_from(DELIMITERS)) + data.draw(filler)
    text = before + form + after
    assert core in find_mpans(text), text
    redacted = redact_mpans(text, "[gone]")
    assert form not in redacted
    assert core not in find_mpans(redacted)


@settings(max_examples=int(os.environ.get("MPAN_EXAMPLES", "300")), deadline=None)
@given(data=st.data(), core=invalid_cores)
def test_property_wrong_check_digit_without_label_survives(data: st.DataObject, core: str) -> None:
    form = data.draw(st.sampled_from(["plain", "grouped", "html"]))
    if form == "plain":
        written_core = core
    else:
        pool = SEPARATORS if form == "grouped" else SPLITS
        written_core = _join(core, data.draw(split_points(13)), lambda: data.draw(st.sampled_from(pool)))
    before = data.draw(filler) + data.draw(st.sampled_from(UNLABELLED))
    after = data.draw(st.sampled_from(UNLABELLED)) + data.draw(filler)
    assume(not any(word in (before + after).lower() for word in ("mpan", "meter", "supply")))
    text = before + written_core + after
    assert core not in find_mpans(text)
    assert written_core in redact_mpans(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_property_redaction_is_idempotent_and_never_grows_mpans(text: str) -> None:
    once = redact_mpans(text)
    assert find_mpans(once) == []
    assert redact_mpans(once) == once


# --- the logging filter ----------------------------------------------------------------------------------------


def _record(msg: str, args: tuple[object, ...] = (), **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": msg, "args": args, "levelno": logging.INFO, **extra})
    return record


def test_log_filter_redacts_message_and_args() -> None:
    record = _record("delivering %s for meter %s", ("CS0012345", M))
    assert MpanRedactingFilter().filter(record) is True
    assert M not in record.getMessage()
    assert "CS0012345" in record.getMessage()


def test_log_filter_leaves_clean_records_alone() -> None:
    record = _record("delivered %s", ("CS0012345",))
    MpanRedactingFilter().filter(record)
    assert record.args == ("CS0012345",)


def test_log_filter_redacts_traceback_and_extras() -> None:
    try:
        raise ValueError(f"bad meter {M}")
    except ValueError:
        import sys

        record = _record("failed", exc_info=sys.exc_info(), payload=f"mpan={M}")
    MpanRedactingFilter().filter(record)
    assert record.exc_text is not None and M not in record.exc_text
    assert M not in record.payload  # type: ignore[attr-defined]


def test_log_filter_on_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("bridge.test.redaction")
    caplog.handler.addFilter(MpanRedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("meter %s and 12 3456 7890 126", M)
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])
    assert M not in caplog.text and "12 3456 7890 126" not in caplog.text
