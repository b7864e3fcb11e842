"""MPAN detection and redaction: MPANs never leave the bridge by email or in a log line (Ops Manual 10.5.5).

An MPAN core is 13 digits (distributor id 2, unique id 10, check digit 1); the full MPAN puts an 8-digit
top line (profile class, meter time-switch code, line loss factor class) before it. People write them plain,
grouped, split across HTML tags or lines, quoted (``> ``), percent-encoded in URLs, with thousands separators
(``1,200,023,305,967``) or bill layouts (``12 | 3456 | 7890 | 126``), glued to a label or a unit
(``MPAN1200023305967``, ``...kWh``), in any Unicode digits, with invisible characters between the digits.

How, and why this way:

0. Text that is not plain ASCII is first mapped to a scan copy: compatibility digits (superscripts, circled,
   full-width, any script) become ASCII digits and invisible format characters and combining marks are
   dropped (Unicode categories Cf, Mn, Me); matches found in the copy are mapped back to the original.
1. One C-speed regex pass proposes *windows*: from a place where a number starts, 13 digits joined only by
   gaps (spaces, hyphens, dots, slashes, tags, entities, line breaks, ``%20``, ``|``, thousands commas) and
   ending where a digit group ends, or a 13/21-digit run anywhere. Digits glued to a letter (``INC0010001``)
   start a grouped window only after a label (``MPAN12 3456 ...``); an unbroken 13/21-digit run glued to
   letters is judged like any other, unless its word is a hex identifier (a sys_id, a hash). Text without
   such a window costs about one naive ``\\d{13}`` scan.
2. Python judges only the windows: the check digit decides, unless a label (``MPAN``, ``MPAN core``, ``MSID``,
   ``S-number``, ``meter point``, ``supply number``) stands right before, which makes any 13 digits an MPAN.
   An 8-digit top line before the core goes with it.
3. A grouped window never starts mid-number (after digits and a short separator), so two phone numbers side
   by side are never read as one MPAN; an identifier, a list marker (``1.``) or an MPAN just found may
   come before it.

Redaction keeps the tags and line breaks found inside an MPAN, so an HTML table or a quoted reply stays
well formed. This is the first line of defence; :mod:`bridge.mappings.mpan_gate` is the independent last one.
"""

from __future__ import annotations

import bisect
import html as html_lib
import logging
import operator
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

DEFAULT_REPLACEMENT = "[MPAN REDACTED]"
_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_ASCII_ZERO_WEIGHT = 48 * sum(_WEIGHTS)  # what ord("0") adds to the weighted sum of ASCII digits

# Separator vocabulary (character-class bodies). Zero-width and soft-hyphen characters count as spaces.
_WS = r" \t\u00a0\u00ad\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff"
_SEP = r"\-./_\u2010-\u2015\u2212\u30fb\uff0d\uff0e\uff0f"
_SP = rf"[{_WS}{_SEP}+|]"
_TAG = (
    r"(?:</?[A-Za-z][^<>]{0,200}>"
    r"|&(?:nbsp|thinsp|ensp|emsp|ndash|mdash|minus|hyphen|shy|#\d{2,5}|#[xX][0-9a-fA-F]{2,4});)"
)
_TAG_GAP = rf"(?=\s{{0,8}}+[<&])\s*(?:{_TAG}\s*)+(?:[{_SEP}]\s*)?"
# "12 3456", "1234-5678", "12 / 3456", one line break with "> " quoting after it; a blank line separates.
_SPACING_LINES = rf"[{_WS}{_SEP}]{{1,8}}+(?:\r?\n[{_WS}>]{{0,8}}+)?|\r?\n[{_WS}>]{{0,8}}+"
_PCT_GAP = r"(?:%(?:2[0DdEeFf]|[Cc]2%[Aa]0|[Ee]2%80%9[34])|\+){1,3}"
# A bill's "12 | 3456 | 7890 | 126" (groups of at most four digits: a table's "| 12345678 | 12345 |" is not
# one number); a thousands comma only before exactly three digits ("1,200,023,305,967").
_PIPE_GAP = r"(?<!\d{5})[ \t]*\|[ \t]*"
_THOUSANDS_GAP = r",(?=\d{3}(?!\d))"
# Atomic: a gap is read one way only, so a failed window never backtracks through gap alternatives; the
# lookahead turns most non-gap characters away with one class test.
_GAP = rf"(?=[{_WS}{_SEP}\s<&%+>|,])(?>{_TAG_GAP}|{_PIPE_GAP}|{_SPACING_LINES}|{_PCT_GAP}|{_THOUSANDS_GAP})"
_UNIT = r"(?i:[km]?wh|[km]w|kva(?:rh)?)"
# A digit group ends before a non-alphanumeric, or before a unit ("...967kWh"), or before any letter when the
# digits are one unbroken 13/21-digit run (then whether its word is an identifier is judged in Python).
_GROUP_END = rf"(?:(?![^\W_])|(?![\d_])(?:(?={_UNIT}(?![^\W_]))|(?<=(?<!\d)\d{{13}})|(?<=(?<!\d)\d{{21}})))"
_GLUED_LABEL = r"(?<=(?i:mpan|msid|core)\d)|(?<=(?i:meter)\d)"
_MORE_12 = rf"(?:\d|{_GAP}\d){{12}}+"
_WINDOW_TAIL = rf"(?=(?P<core>{_MORE_12})(?:{_GROUP_END}|(?P<full>(?:\d|{_GAP}\d){{8}}+){_GROUP_END}))"

#: Where a window may start, always on a digit (so the scan skips non-digits in C): after a list marker
#: (``1. ``); at a run's first digit not glued to a letter (the full MPAN's ``S`` excepted) and not
#: mid-number, unless the window is one unbroken 13/21-digit run; after an identifier's digits; at the first
#: digit after a ``%XX`` escape. Only a digit or so is consumed, so windows overlap and every start counts.
_WINDOW_RE = re.compile(
    r"\d(?:(?<!\d\d)(?<!%\d)(?:"
    r"(?<![^\W\d_]\d)\d{0,2}\.[ \t]+(?P<listed>)\d"
    r"|(?:(?<![^\W\d_]\d)|(?<=(?<![^\W_])[Ss]\d))"
    rf"(?:(?<!\d{_SP}\d)(?<!\d{_SP}{{2}}\d)(?<!\d{_SP}{{3}}\d)(?<!\d&nbsp;\d)|(?=\d{{12}}(?:\d{{8}})?{_GROUP_END}))"
    rf"|(?<=[^\W\d_]\d)(?:{_GLUED_LABEL}|(?=\d{{12}}(?:\d{{8}})?(?!\d))|\d*+{_SP}{{1,3}}+(?P<after_id>)\d))"
    r"|(?<=%[0-9A-Fa-f]{2}\d)(?:(?<!\d%[0-9A-Fa-f]{2}\d)|(?<=%[0-9A-Fa-f]{2}%[0-9A-Fa-f]{2}\d)))" + _WINDOW_TAIL
)
_NEXT_WINDOW_RE = re.compile(rf"[{_WS}{_SEP},;&]{{1,8}}(?:(?:and|or)\s+)?(?P<start>)\d{_WINDOW_TAIL}")
_TOP_LINE_RE = re.compile(rf"(?:\d{{8}}|\d\d{_GAP}\d{{3}}{_GAP}\d{{3}}|\d\d{_GAP}\d{{6}}|\d{{5}}{_GAP}\d{{3}}){_GAP}")
_CORE_RE = re.compile(rf"\d{_MORE_12}{_GROUP_END}")
_PREVIOUS_RUN_RE = re.compile(rf"(?<!\d)(\d+)(?:{_PCT_GAP}|{_SP}{{1,8}})\Z")
_TOKEN_RE = re.compile(rf"(?P<gap>{_GAP})|(?P<digits>\d+)")
_GAP_RE = re.compile(_GAP)
_NON_DIGITS_RE = re.compile(r"\D+")
_LINE_START_RE = re.compile(r"(?:\A|\n)[ \t>]*\Z")

_LABEL_FILL = (
    r"(?:[\s:#=\-.(\[\"'\u2018-\u201d]|%[0-9A-Fa-f]{2}|<[^<>]{0,120}>|&nbsp;|\(s\)|\bS\b"
    r"|no\b\.?|num(?:ber)?\b|is\b|was\b)*"
)
_LABEL_RE = re.compile(
    r"(?i)(?<![^\W_])(?:mpan(?:[\s_-]*core)?s?|msids?|(?-i:S)[\s_-]*numbers?|s[_-]numbers?"
    r"|meter[\s_-]*points?(?:[\s_-]*(?:admin(?:istration)?[\s_-]*)?"
    r"(?:numbers?|ref(?:erence)?s?|ids?))?|supply[\s_-]*(?:numbers?|nos?\b\.?))" + _LABEL_FILL + r"\Z"
)
_LABEL_WORDS = ("mpan", "meter", "supply", "msid", "number")
_WORD_BEFORE_RE = re.compile(r"[^\W_]+\Z")
_WORD_AFTER_RE = re.compile(r"[^\W_]+")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_LIST_SEP_RE = re.compile(r"(?i)[\s,;&/]*(?:(?:and|or)\b[\s,;&/]*)?")
_LABEL_WINDOW = 80
_LOOK_BACK = 48


class MpanMatch(NamedTuple):
    """One MPAN found: ``text[start:end]`` holds it (top line included); ``keep`` are tags/line breaks in it."""

    start: int
    end: int
    core: str
    keep: str


def mpan_check_digit(first12: str) -> int:
    """The check digit for the first 12 digits of an MPAN core (weighted sum mod 11 mod 10)."""
    if len(first12) != 12 or not first12.isdecimal():
        raise ValueError("expected 12 decimal digits")
    return sum(map(operator.mul, map(int, first12), _WEIGHTS)) % 11 % 10


def is_valid_mpan_core(s: str) -> bool:
    """True for 13 decimal digits (any script) whose last digit is the check digit of the first 12."""
    return len(s) == 13 and s.isdecimal() and _check_digit_ok(_ascii(s))


def is_mpan_label(name: str) -> bool:
    """True if ``name`` (a JSON key, a column header) names an MPAN: ``mpan``, ``MPAN core``, ``meter point``."""
    return _LABEL_RE.fullmatch(name.strip()) is not None


def find_mpans(text: str) -> list[str]:
    """The MPAN cores in ``text``, in order of appearance, as ASCII digits."""
    return [m.core for m in iter_mpans(text)]


def redact_mpans(text: str, replacement: str = DEFAULT_REPLACEMENT) -> str:
    """``text`` with every MPAN (and its top line) replaced; tags and line breaks inside it are kept."""
    return redact_and_count(text, replacement)[0]


def redact_html(html: str, replacement: str = DEFAULT_REPLACEMENT) -> str:
    """Like :func:`redact_mpans` for HTML/XML: the replacement is escaped, the markup around stays valid."""
    return redact_and_count(html, replacement, markup=True)[0]


def redact_and_count(text: str, replacement: str = DEFAULT_REPLACEMENT, *, markup: bool = False) -> tuple[str, int]:
    """Redact and say how many MPANs went (the email adapter counts them per field for the audit log)."""
    if markup:
        replacement = html_lib.escape(replacement)
    pieces: list[str] = []
    pos = count = 0
    for match in iter_mpans(text):
        pieces += (text[pos : match.start], replacement, match.keep)
        pos = match.end
        count += 1
    if not count:
        return text, 0
    pieces.append(text[pos:])
    return "".join(pieces), count


def iter_mpans(text: str) -> Iterator[MpanMatch]:
    """Every MPAN in ``text``, left to right; an MPAN found first wins over one overlapping it."""
    if not _needs_scan_copy(text):
        yield from _iter_windows(text)
        return
    copy, positions = _scan_copy(text)
    for match in _iter_windows(copy):
        if positions is None:
            yield match
        else:
            yield match._replace(start=positions.original(match.start), end=positions.original(match.end - 1) + 1)


def _iter_windows(text: str) -> Iterator[MpanMatch]:
    scan = _Scan(text)
    for window in _WINDOW_RE.finditer(text):
        start, free = _window_start(text, window)
        if start < scan.consumed:
            continue
        match = scan.judge(start, window, free=free)
        while match is not None:
            yield match
            match = scan.next_in_list()


def _window_start(text: str, window: re.Match[str]) -> tuple[int, bool | None]:
    """Where the window starts, and whether a number surely starts there (None: ask the text before)."""
    if window.start("after_id") >= 0:
        return window.start("after_id"), True
    if window.start("listed") >= 0:
        at_line_start = _LINE_START_RE.search(text, max(0, window.start() - _LOOK_BACK), window.start())
        return window.start("listed"), at_line_start is not None
    return window.start(), None


class _Scan:
    """Judges windows in order; remembers the end of the last MPAN and of the last one a label covered."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.consumed = 0
        self.labelled_until: int | None = None

    def judge(self, start: int, window: re.Match[str], *, free: bool | None) -> MpanMatch | None:
        """A full MPAN (top line then core) starting here, else a core window, else nothing."""
        if free is not False:
            top = _TOP_LINE_RE.match(self.text, start)
            core = _CORE_RE.match(self.text, top.end()) if top else None
            if top and core:
                found = self._decide(start, top.end(), core.end(), free=True)
                if found is not None:
                    return found
        if window.start("full") < 0:
            return self._decide(start, start, window.end("core"), free=free)
        if self.text[start : window.end("full")].isdecimal():  # a 21-digit full MPAN on one run
            return self._decide(start, start, window.end("full"), free=True)
        return None

    def next_in_list(self) -> MpanMatch | None:
        """Right after an MPAN another may follow with only a space between (``12 3456 ... 23 4567 ...``)."""
        window = _NEXT_WINDOW_RE.match(self.text, self.consumed)
        return None if window is None else self.judge(window.start("start"), window, free=True)

    def _decide(self, first: int, start: int, end: int, *, free: bool | None) -> MpanMatch | None:
        """``text[start:end]`` is 13 digits (or a 21-digit run), ``text[first:start]`` a top line, if any.

        Cheapest test first: nine windows in ten fail the check digit and have no label word nearby.
        """
        text = self.text
        core, single = _core(text, start, end)
        valid = _check_digit_ok(core)
        labelled = self._may_be_labelled(first) and _is_labelled(text, first, self.labelled_until)
        if not valid and not labelled:
            return None
        if not (labelled or single or first != start or self._starts_number(start, free)):
            return None
        if single and not labelled and _hex_word(text, first, end):
            return None
        self.consumed = end
        self.labelled_until = end if labelled else self.labelled_until
        return MpanMatch(first, end, core, _kept(text, first, end))

    def _starts_number(self, start: int, free: bool | None) -> bool:
        return free if free is not None else _starts_number(self.text, start, self.consumed)

    def _may_be_labelled(self, start: int) -> bool:
        """A cheap look for the label words (or a labelled list going on) before the label regex."""
        if self.labelled_until is not None and start - self.labelled_until < _LABEL_WINDOW:
            return True
        before = self.text[max(0, start - _LABEL_WINDOW) : start].lower()
        return any(word in before for word in _LABEL_WORDS)


def _is_labelled(text: str, start: int, labelled_until: int | None) -> bool:
    if labelled_until is not None and _LIST_SEP_RE.fullmatch(text, labelled_until, start):
        return True
    return _LABEL_RE.search(text, max(0, start - _LABEL_WINDOW), start) is not None


def _starts_number(text: str, start: int, consumed: int) -> bool:
    """False when a grouped window begins mid-number after a long separator (``4100 -- 07700``); the
    regex already refused the short ones. Digits glued to a letter before it are an identifier."""
    before = _PREVIOUS_RUN_RE.search(text, max(0, start - _LOOK_BACK), start)
    if before is None or before.end(1) <= consumed:
        return True
    return _glued_to_letter(text, before.start(1))


def _glued_to_letter(text: str, start: int) -> bool:
    """Digits right after a letter belong to an identifier, except after the full-MPAN ``S`` or an escape."""
    if start == 0 or not text[start - 1].isalpha():
        return False
    if start >= 3 and text[start - 3] == "%":
        return False
    return not (text[start - 1] in "Ss" and (start < 2 or not text[start - 2].isalnum()))


def _core(text: str, start: int, end: int) -> tuple[str, bool]:
    """The window's 13 core digits in ASCII, and whether it is one unbroken run."""
    raw = text[start:end]
    if raw.isdecimal():
        return _ascii(raw[-13:]), True
    # gaps that hold digits of their own (%20, &#160;, <td x=2>) go whole; otherwise every non-digit goes
    gaps = _GAP_RE if "%" in raw or "&" in raw or "<" in raw else _NON_DIGITS_RE
    return _ascii(gaps.sub("", raw)[-13:]), False


def _hex_word(text: str, start: int, end: int) -> bool:
    """An unbroken run glued to letters inside a long hex word (a sys_id, a hash) is part of an identifier."""
    left = start > 0 and text[start - 1].isalnum()
    right = end < len(text) and text[end].isalnum()
    if not (left or right):
        return False
    first = _word_start(text, start) if left else start
    last = _word_end(text, end) if right else end
    return last - first >= 16 and _HEX_RE.fullmatch(text, first, last) is not None


def _word_end(text: str, end: int) -> int:
    found = _WORD_AFTER_RE.match(text, end, min(len(text), end + 64))
    return end if found is None else found.end()


def _word_start(text: str, start: int) -> int:
    found = _WORD_BEFORE_RE.search(text, max(0, start - 64), start)
    return start if found is None else found.start()


def _check_digit_ok(core: str) -> bool:
    """The hot path: ``core`` is 13 ASCII digits; bytes iterate as ints, so no int() per digit."""
    raw = core.encode()
    return (sum(map(operator.mul, raw[:12], _WEIGHTS)) - _ASCII_ZERO_WEIGHT) % 11 % 10 == raw[12] - 48


def _kept(text: str, start: int, end: int) -> str:
    """Tags and line breaks inside a match, kept so that redacting leaves the markup and quoting intact."""
    if text[start:end].isdecimal():
        return ""
    gaps = (t.group("gap") for t in _TOKEN_RE.finditer(text, start, end))
    return "".join(g for g in gaps if g and ("<" in g or "\n" in g))


# --- the scan copy of text that is not plain ASCII ---------------------------------------------------------

_LATIN1_ODD = (b"\xad", b"\xb2", b"\xb3", b"\xb9")  # soft hyphen, superscript 2, 3, 1
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_DROPPED = frozenset({"Cf", "Mn", "Me"})


class _Positions:
    """Maps a position in the scan copy back to the original text, given the runs of characters dropped."""

    def __init__(self, runs: Iterator[re.Match[str]]) -> None:
        self.at: list[int] = []  # where each dropped run was, in the copy
        self.shift: list[int] = []  # characters dropped up to and including that run
        dropped = 0
        for run in runs:
            self.at.append(run.start() - dropped)
            dropped += run.end() - run.start()
            self.shift.append(dropped)

    def original(self, pos: int) -> int:
        i = bisect.bisect_right(self.at, pos)
        return pos + (self.shift[i - 1] if i else 0)


def _needs_scan_copy(text: str) -> bool:
    """Cheap for the common cases: ASCII (one flag), Latin-1 (a copy then four byte searches)."""
    if text.isascii():
        return False
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return _odd_chars_re().search(text) is not None
    return any(ch in raw for ch in _LATIN1_ODD)


def _scan_copy(text: str) -> tuple[str, _Positions | None]:
    """ASCII digits for every digit form, format characters and combining marks dropped (and where)."""
    table: dict[int, str | None] = {}
    for ch in set(_NON_ASCII_RE.findall(text)):
        if unicodedata.category(ch) in _DROPPED:
            table[ord(ch)] = None
        elif (digit := _as_digit(ch)) is not None:
            table[ord(ch)] = digit
    if not table:
        return text, None
    copy = text.translate(table)
    dropped = "".join(re.escape(chr(code)) for code, value in table.items() if value is None)
    return copy, (_Positions(re.finditer(f"[{dropped}]+", text)) if dropped else None)


def _as_digit(ch: str) -> str | None:
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 and folded.isascii() and folded.isdigit() else None


@lru_cache(maxsize=1)
def _odd_chars_re() -> re.Pattern[str]:
    """Any character the scan copy changes (built once, on the first text that is not Latin-1)."""
    odd = "".join(re.escape(chr(c)) for c in range(0x80, 0x10000) if _is_odd(chr(c)))
    return re.compile(f"[{odd}]|[\U00010000-\U0010ffff]")


def _is_odd(ch: str) -> bool:
    return unicodedata.category(ch) in _DROPPED or _as_digit(ch) is not None


def _ascii(raw: str) -> str:
    return raw if raw.isascii() else "".join(str(int(ch)) for ch in raw)


class MpanRedactingFilter(logging.Filter):
    """Redacts MPANs from a record's message, arguments, traceback and string extras; never drops a record."""

    _formatter = logging.Formatter()
    _standard = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def filter(self, record: logging.LogRecord) -> bool:
        self._redact_message(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_mpans(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_mpans(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in self._standard and isinstance(value, str):
                setattr(record, key, redact_mpans(value))
        return True

    @staticmethod
    def _redact_message(record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the handler's to report, not ours
            message = str(record.msg)
        redacted = redact_mpans(message)
        if redacted != message:
            record.msg, record.args = redacted, None


__all__ = [
    "DEFAULT_REPLACEMENT",
    "MpanMatch",
    "MpanRedactingFilter",
    "find_mpans",
    "is_mpan_label",
    "is_valid_mpan_core",
    "iter_mpans",
    "mpan_check_digit",
    "redact_and_count",
    "redact_html",
    "redact_mpans",
]
