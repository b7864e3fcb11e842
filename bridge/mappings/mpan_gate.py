"""The last gate before an email leaves: refuse a message that still holds anything MPAN-shaped (Ops Manual 10.5.5).

The redactor (:mod:`bridge.mappings.redaction`) removes MPANs and keeps the rest of the text readable. This gate
answers a simpler question about the finished message, independently of it (its own reading of text, its own
check digit), so that a blind spot of one is not a blind spot of the other, and it fails closed: the email
adapter dead-letters a message it flags instead of sending it.

How the gate reads a text, in one linear pass after normalising it:

1. Normalise: markup tags become a space and entities are decoded; ``%XX`` escapes are decoded; Unicode is
   NFKC-folded (superscript, circled, full-width digits become ASCII), invisible format characters and
   combining marks (categories Cf, Mn, Me: direction marks, joiners, soft hyphens, variation selectors, tags)
   are dropped, and every decimal digit of any script becomes ASCII. Transfer encodings (quoted-printable,
   base64) are undone by the caller, which hands over each decoded part.
2. A *chain* is digits joined by runs of joining characters (whitespace and line breaks, dashes, ``. , / | _ '
   + >``); anything else (a letter, a colon, a bracket, ``= ; ? & #``) ends it. Chains of fewer than 13 digits
   are dropped by the regex itself, in C.
3. In a chain, a *window* is a run of consecutive digit groups holding exactly 13 digits with the same
   separator between each group (``12 3456 7890 126``, ``1,200,023,305,967``, ``12 | 3456 | 7890 | 126``,
   ``1234567`` and ``890126`` on two lines),
   a group of 13 digits on its own, or the last 13 digits of such a run of 21 (the full MPAN's core). A window
   with a valid check digit refuses the message.

Two kinds of digits start no window, and why: a group glued to letters on its left (``CS0012345``,
``INC0010001``: an identifier) joins nothing after it unless the letters are an MPAN label (``MPAN12 3456...``),
though it is still judged on its own; and a group inside a long hex word (a sys_id, a hash, a Message-ID) is
skipped. Windows must follow the groups people write, with one separator: reading every 13-digit stretch of a
chain instead flagged one email in two of the redaction benchmark's corpus (case numbers, dates and counts
side by side in table rows pass a check digit by chance one time in ten). Phone numbers (at most 12 digits,
``(0)`` and ``:`` end a chain), case numbers, sys_ids and timestamps (``:`` ends a chain) give no window.
"""

from __future__ import annotations

import html
import operator
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import unquote

_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_ZERO = ord("0")
_JOIN = r"\s\-./,|_'+>\u2010-\u2015\u2212"
_MORE_12 = rf"(?:[{_JOIN}]*+\d){{12}}[\d{_JOIN}]*+"
# A chain of 13 digits or more, starting on a digit that is not glued to a letter or a digit (so each number is
# tried once, from its first group); or a 13/21-digit run glued to letters (judged alone); or a chain glued to
# an MPAN label (or the full MPAN's lone ``S``). The leading ``\d`` lets the scan skip every other character in C,
# and ``(?<!\d\d)`` turns a digit inside a number away with one test.
_CHAIN_RE = re.compile(
    rf"\d(?<!\d\d)(?:(?<![^\W_]\d){_MORE_12}"
    rf"|(?<=[^\W\d_]\d)(?:(?P<glued>)\d{{12}}(?:\d{{8}})?(?!\d)|(?<=(?i:mpan|msid|core)\d){_MORE_12}"
    rf"|(?<=(?i:meter)\d){_MORE_12}|(?<=(?<![^\W_])[Ss]\d){_MORE_12}))"
)
_GROUP_RE = re.compile(rf"(\d+)([{_JOIN}]*)")
_TAG_RE = re.compile(r"<[^<>]*>")
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_FOLD_SPACES_RE = re.compile(r"[\s>]+")
_FOLD_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
_WORD_BEFORE_RE = re.compile(r"[^\W_]+\Z")
_WORD_AFTER_RE = re.compile(r"[^\W_]+")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_DROPPED = frozenset({"Cf", "Mn", "Me"})
_HEX_WORD = 16  # characters: shorter words are not taken for identifiers
_LOOK = 64  # characters looked at around a chain for its word


def holds_mpan(text: str, *, markup: bool = False) -> bool:
    """True when ``text`` holds an MPAN-shaped window: the message it is part of must not be sent."""
    normal = normalise(text, markup=markup)
    return any(_judge(normal, chain) for chain in _CHAIN_RE.finditer(normal))


def mpan_windows(text: str, *, markup: bool = False) -> int:
    """How many MPAN-shaped windows ``text`` holds (for tests and the benchmark). Never says which digits."""
    normal = normalise(text, markup=markup)
    return sum(_judge(normal, chain) for chain in _CHAIN_RE.finditer(normal))


def normalise(text: str, *, markup: bool = False) -> str:
    """Step 1 of the module docstring: the text as the gate reads it."""
    if markup:
        text = _TAG_RE.sub(" ", text)
        if "&" in text:
            text = html.unescape(text)
    if "%" in text and _PERCENT_RE.search(text):
        text = unquote(text, errors="replace")
    if not text.isascii():
        text = _fold_unicode(text)
    return text


@lru_cache(maxsize=4096)
def check_digit_ok(core: str) -> bool:
    """13 ASCII digits whose last is the weighted sum of the first 12, mod 11, mod 10 (written apart from
    :func:`bridge.mappings.redaction.mpan_check_digit` on purpose: the gate relies on no code of the redactor)."""
    raw = core.encode("ascii")  # bytes iterate as ints: no int() per digit
    total = sum(map(operator.mul, raw[:12], _WEIGHTS)) - _ZERO * sum(_WEIGHTS)
    return total % 11 % 10 == raw[12] - _ZERO


def _fold_unicode(text: str) -> str:
    """NFKC, then format characters and combining marks dropped and every decimal digit made ASCII."""
    text = unicodedata.normalize("NFKC", text)
    table: dict[int, str | None] = {}
    for ch in set(_NON_ASCII_RE.findall(text)):
        if unicodedata.category(ch) in _DROPPED:
            table[ord(ch)] = None
        elif ch.isdecimal():
            table[ord(ch)] = str(unicodedata.decimal(ch))
    return text.translate(table) if table else text


def _judge(text: str, chain: re.Match[str]) -> int:
    """The number of windows with a valid check digit in one chain."""
    start, end = chain.span()
    if chain.group("glued") is not None:  # 13 or 21 digits glued to letters: an MPAN unless a hex identifier
        return 0 if _in_hex_word(text, start, end) else int(check_digit_ok(text[end - 13 : end]))
    groups = _GROUP_RE.findall(text, start, end)
    last_end = end - len(groups[-1][1])
    if _glued_right(text, last_end) and _in_hex_word(text, last_end - len(groups[-1][0]), last_end):
        groups.pop()
    return sum(check_digit_ok(core) for core in _windows(groups))


def _windows(groups: list[tuple[str, str]]) -> Iterator[str]:
    """Cores of 13 digits read from whole groups with one separator (step 3 of the module docstring).

    Linear in the number of groups: the gaps split the chain into segments of one separator each, and in a
    segment the prefix sums of group lengths find every run of groups adding up to 13 or 21 digits.
    """
    for digits, _gap in groups:
        if len(digits) in (13, 21):
            yield digits[-13:]
    gaps = [_fold(gap) for _digits, gap in groups]
    first = 0
    while first < len(groups) - 1:
        last = first + 1
        while last < len(groups) - 1 and gaps[last] == gaps[first]:
            last += 1
        yield from _runs_of(groups[first : last + 1])
        first = last


def _runs_of(segment: list[tuple[str, str]]) -> Iterator[str]:
    """Cores from two or more consecutive groups of one segment holding exactly 13 or 21 digits."""
    starts: list[int] = []
    ends: dict[int, int] = {}  # digits before group k -> k (strictly increasing: every group has a digit)
    total = 0
    for index, (digits, _gap) in enumerate(segment):
        starts.append(total)
        ends[total] = index
        total += len(digits)
    ends[total] = len(segment)
    joined = "".join(digits for digits, _gap in segment)
    for index, before in enumerate(starts):
        for size in (13, 21):
            end = ends.get(before + size)
            if end is not None and end - index >= 2:
                yield joined[before + size - 13 : before + size]


@lru_cache(maxsize=256)
def _fold(gap: str) -> str:
    """Any run of spaces (and quote marks) counts as one space, every dash as a hyphen, and any gap with a line
    break as one line break: a line break is its own kind of separator, so two phone numbers on two lines
    (``020 7380 4100`` then ``020 7946 0000``) are not read as one grouped number."""
    if "\n" in gap or "\r" in gap:
        return "\n"
    return _FOLD_SPACES_RE.sub(" ", gap).translate(_FOLD_DASHES)


def _glued_left(text: str, start: int) -> bool:
    return start > 0 and text[start - 1].isalnum()


def _glued_right(text: str, end: int) -> bool:
    return end < len(text) and text[end].isalnum()


def _in_hex_word(text: str, start: int, end: int) -> bool:
    """The digits ``text[start:end]`` belong to a word of hex digits long enough to be an identifier."""
    before = _WORD_BEFORE_RE.search(text, max(0, start - _LOOK), start) if _glued_left(text, start) else None
    after = _WORD_AFTER_RE.match(text, end, min(len(text), end + _LOOK)) if _glued_right(text, end) else None
    first = before.start() if before else start
    last = after.end() if after else end
    return last - first >= _HEX_WORD and _HEX_RE.fullmatch(text, first, last) is not None


__all__ = ["check_digit_ok", "holds_mpan", "mpan_windows", "normalise"]
