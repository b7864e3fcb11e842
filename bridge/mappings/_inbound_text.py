"""Text helpers for inbound email: HTML to plain text, and cutting a reply down to what the sender just wrote.

Pure functions on ``str``. Hand-written on the standard library rather than a dependency: the HTML we meet is
mail-client output (Outlook, Gmail, Apple Mail), where a small renderer that keeps line structure and turns
``<blockquote>`` into ``> `` lines is enough, and the reply-stripping libraries on PyPI either lag the current
clients' header formats (email-reply-parser) or pull in ML models (talon).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "div", "dl", "dt", "dd", "fieldset", "figure", "footer", "form", "header", "hr"}
    | {"li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"}
    | {f"h{level}" for level in range(1, 7)}
)
_SKIP_TAGS = frozenset({"head", "script", "style", "title", "template", "xml"})
_SPACES_RE = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")


class _TextRenderer(HTMLParser):
    """Renders HTML as lines; ``<blockquote>`` depth becomes a ``> `` prefix so quoted history stays marked."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._depth = 0
        self._skip = 0
        self._pre = 0
        self._spacer = False
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self._flush(keep_empty=True)
        elif tag == "blockquote":
            self._flush()
            self._depth += 1
        elif tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []
        elif tag in _BLOCK_TAGS:
            self._flush()
            self._pre += tag == "pre"
            if tag == "li":
                self._line.append("- ")
        elif tag in ("td", "th"):
            self._line.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._flush()
            self._depth = max(0, self._depth - 1)
        elif tag == "a":
            self._end_link()
        elif tag in _BLOCK_TAGS:
            self._flush()
            self._pre -= tag == "pre" and self._pre > 0

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            for number, piece in enumerate(data.split("\n")):
                if number:
                    self._flush(keep_empty=True)
                self._line.append(piece)
            return
        if "\xa0" in data and not data.strip(" \t\r\n\xa0"):
            self._spacer = True  # Outlook's empty paragraph, <p>&nbsp;</p>: a blank line the writer meant
        text = _SPACES_RE.sub(" ", data)
        self._line.append(text)
        if self._href is not None:
            self._link_text.append(text)

    def close(self) -> None:
        super().close()
        self._flush()

    def _end_link(self) -> None:
        """Keep a web link's address after its text (a portal link is often the point of the message)."""
        href, text = self._href, "".join(self._link_text).strip()
        self._href = None
        if href and href.startswith(("http://", "https://")) and href not in text and text:
            self._line.append(f" <{href}>")

    def _flush(self, *, keep_empty: bool = False) -> None:
        text = "".join(self._line)
        self._line = []
        text = text.rstrip() if self._pre else " ".join(text.split())
        keep_empty, self._spacer = keep_empty or self._spacer, False
        if text or keep_empty:
            self.lines.append("> " * self._depth + text if text else ">" * self._depth)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML mail body: one line per block or ``<br>``, blockquotes as ``> `` lines."""
    renderer = _TextRenderer()
    renderer.feed(markup)
    renderer.close()
    return _tidy("\n".join(renderer.lines))


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, no blank lines at either end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


# --- reply stripping ---------------------------------------------------------------------------------------

_QUOTED_RE = re.compile(r"^[ \t]*>")
# "On Tue, 5 Mar 2024 at 14:02, Jane <jane@x> wrote:" (Gmail, Apple Mail, Thunderbird; wrapped over lines).
_ON_WROTE_RE = re.compile(
    r"^[-\s]*(?:On|Am|Le|El|Il|Op)\s(?=.*\d).{4,300}?\b(?:wrote|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef)\s*:?[-\s]*$",
    re.IGNORECASE | re.DOTALL,
)
_WROTE_ONLY_RE = re.compile(r"^.{1,200}\bwrote:\s*$", re.IGNORECASE)
_ORIGINAL_RE = re.compile(
    r"^[\s>]*-{2,}\s*(?:Original Message|Original message|Forwarded message|Reply message)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM_RE = re.compile(r"^[\s*>]*(?:From|Von|De)\s*:\s*\S", re.IGNORECASE)
_HEADER_NEXT_RE = re.compile(r"^[\s*>]*(?:Sent|Date|Datum|Envoyé|Gesendet|To|Subject|Cc)\s*:", re.IGNORECASE)
_SIG_DELIMITER_RE = re.compile(r"^--[ \t]?$")
_MOBILE_RE = re.compile(
    r"^\s*(?:Sent from my\b|Sent from (?:Outlook|Mail|Yahoo Mail|Samsung)\b|Get Outlook for\b|Sent via\b)",
    re.IGNORECASE,
)
_SIGN_OFF_RE = re.compile(
    r"^\s*(?:(?:kind|best|warm|many|with)\s+(?:regards|wishes|thanks)|regards|thanks(?:\s+(?:again|in advance))?"
    r"|thank\s+you(?:\s+(?:again|in advance))?|many\s+thanks|cheers|best|sincerely|yours\s+sincerely"
    r"|yours\s+faithfully|br|kr)\s*[,.!]?(?-i:[ \t]*[A-Z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*){0,2})?\s*$",
    re.IGNORECASE,
)
_DISCLAIMER_RE = re.compile(
    r"^\s*(?:disclaimer\b|confidentiality notice\b|this (?:e-?mail|message|communication)\b.{0,80}"
    r"\b(?:confidential|intended (?:solely|only)|privileged))",
    re.IGNORECASE,
)
_BANNER_RE = re.compile(
    r"^\s*\[?(?:CAUTION|EXTERNAL|WARNING)\b.{0,60}(?:external|outside (?:of )?(?:the|your) organi[sz]ation)",
    re.IGNORECASE,
)
_RULE_RE = re.compile(r"^[\s_\-=*]*$")
_HIDDEN_RE = re.compile(r"^\s*\[?(?:Quoted text hidden|-\s*Show quoted text\s*-)\]?\s*$", re.IGNORECASE)
_SIGNATURE_MAX_LINES = 12


def strip_quoted_reply(text: str) -> str:
    """The new part of a reply: quoted history, reply headers, signatures and banners removed.

    Inline answers written between ``>`` quotes are kept. If removing a sign-off or signature would leave
    nothing, the text before that step is returned, so a one-line "Thanks!" still arrives.
    """
    lines = _tidy(text).split("\n")
    lines = [line for line in _drop_banner(lines) if not _HIDDEN_RE.match(line)]
    lines = _cut_history(lines)
    body = _trim(lines)
    signed_off = _trim(_cut_signature(body))
    return "\n".join(signed_off or body)


def _drop_banner(lines: list[str]) -> list[str]:
    """An "external sender" warning a gateway put at the top is not the customer's text."""
    for index, line in enumerate(lines[:3]):
        if _BANNER_RE.match(line):
            return lines[index + 1 :]
    return lines


def _cut_history(lines: list[str]) -> list[str]:
    """Everything from the first reply header on is history, except answers written inline between quotes."""
    start = _history_start(lines)
    if start is None:
        return [line for line in lines if not _QUOTED_RE.match(line)]
    before = [line for line in lines[:start] if not _QUOTED_RE.match(line)]
    return before + _inline_answers(lines[start:])


def _history_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _ORIGINAL_RE.match(line) or _is_header_block(lines, index):
            return _include_rule_above(lines, index)
        if _is_on_wrote(lines, index):
            return index
    return None


def _is_on_wrote(lines: list[str], index: int) -> bool:
    """An attribution line, which Gmail and Apple Mail wrap over up to three lines in plain text."""
    for span in (1, 2, 3):
        if _ON_WROTE_RE.match(" ".join(line.strip() for line in lines[index : index + span])):
            return True
    line = lines[index]
    return bool(_WROTE_ONLY_RE.match(line)) and _next_is_quoted(lines, index)


def _next_is_quoted(lines: list[str], index: int) -> bool:
    rest = [line for line in lines[index + 1 : index + 4] if line.strip()]
    return bool(rest) and bool(_QUOTED_RE.match(rest[0]))


def _is_header_block(lines: list[str], index: int) -> bool:
    """Outlook's "From: ... / Sent: ... / To: ..." block: a From line with another header within 4 lines."""
    if not _HEADER_FROM_RE.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()][:4]
    return any(_HEADER_NEXT_RE.match(line) for line in following)


def _include_rule_above(lines: list[str], index: int) -> int:
    """Outlook draws a line of underscores above its header block; it goes with the history."""
    while index > 0 and lines[index - 1].strip() and _RULE_RE.match(lines[index - 1]):
        index -= 1
    return index


def _inline_answers(history: list[str]) -> list[str]:
    """Answers written between quoted lines after an attribution, each after the (at most 3) quoted lines it
    answers; nothing when the history is top-posted (all quoted, or unquoted right after the header)."""
    kept: list[str] = []
    quoted: list[str] = []
    for index, line in enumerate(history[1:], start=1):
        if _QUOTED_RE.match(line):
            quoted.append(line)
        elif not line.strip():
            if kept and not quoted:
                kept.append(line)
        elif not quoted and not kept:
            return []  # unquoted text right after the header: Outlook-style history, not inline answers
        elif _ORIGINAL_RE.match(line) or _is_header_block(history, index) or _is_on_wrote(history, index):
            break
        else:
            kept.extend([*_last_quoted(quoted), line])
            quoted = []
    return kept


def _last_quoted(quoted: list[str]) -> list[str]:
    lines = [line for line in quoted if line.strip(" \t>")]
    return lines[-3:]


def _cut_signature(lines: list[str]) -> list[str]:
    """Cut at a disclaimer, a ``-- `` delimiter, a mobile footer, or a sign-off near the end."""
    for index, line in enumerate(lines):
        if _DISCLAIMER_RE.match(line) or _SIG_DELIMITER_RE.match(line):
            lines = lines[:index]
            break
    lines = [line for line in lines if not _MOBILE_RE.match(line)]
    for index in range(_tail_start(lines), len(lines)):
        if _SIGN_OFF_RE.match(lines[index]) and _looks_like_signature(lines[index + 1 :]):
            return lines[:index]
    return lines


def _looks_like_signature(lines: list[str]) -> bool:
    """Name, title, phone, company: short lines, not sentences (so "Thanks" mid-message is not a cut)."""
    for line in lines:
        words = line.split()
        if len(words) >= 6 and line.rstrip().endswith((".", "?", "!", ":")):
            return False
    return True


def _tail_start(lines: list[str]) -> int:
    """Index where the last few non-blank lines begin: the only place a sign-off is believed."""
    count = 0
    for index in range(len(lines) - 1, -1, -1):
        count += bool(lines[index].strip())
        if count >= _SIGNATURE_MAX_LINES:
            return index
    return 0


def _trim(lines: list[str]) -> list[str]:
    """No blank lines or horizontal rules at either end; at most one blank line in a row."""
    start, end = 0, len(lines)
    while start < end and _RULE_RE.match(lines[start]):
        start += 1
    while end > start and _RULE_RE.match(lines[end - 1]):
        end -= 1
    kept: list[str] = []
    for line in lines[start:end]:
        if line.strip() or (kept and kept[-1].strip()):
            kept.append(line.rstrip())
    return kept
