"""JQL text -> a small syntax tree (clauses joined by AND / OR / NOT, and an ORDER BY list).

Follows the advanced-search grammar (https://support.atlassian.com/jira-software-cloud/docs/use-advanced-search-with-jira-query-language-jql/):
fields by name, quoted name (``"External Ref"``) or id (``cf[10050]``, ``customfield_10050``); operators
``= != ~ !~ > >= < <= IN NOT IN IS IS NOT``; values unquoted, single- or double-quoted, or function calls
(``now()``, ``currentUser()``). Quoted strings take JQL's escapes only (``\\" \\' \\\\ \\t \\n \\r \\ `` and
``\\uXXXX``): any other is the same "illegal JQL escape sequence" error Jira gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import BadRequest

KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
_OPERATORS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")
_WORD_STOP = set(" \t\r\n\"'(),=!~<>")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "n": "\n", "r": "\r", " ": " "}
_CF = re.compile(r"cf\[(\d+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    kind: str  # "str", "word", "op", "(", ")", ",", "cf"
    text: str
    pos: int


@dataclass(frozen=True)
class Value:
    """A clause operand: its text, whether it was quoted, and the function name if it is a call."""

    text: str
    quoted: bool = False
    function: str | None = None


@dataclass(frozen=True)
class Clause:
    field: str
    op: str  # "=", "!=", "~", "!~", ">", ">=", "<", "<=", "in", "not in", "is", "is not"
    values: tuple[Value, ...]


@dataclass(frozen=True)
class BoolNode:
    op: str  # "and", "or", "not"
    children: tuple[Node, ...]


Node = Clause | BoolNode


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)


def syntax_error(message: str, pos: int) -> BadRequest:
    """Jira's wording for a malformed query."""
    return BadRequest(f"Error in the JQL Query: {message} (line 1, character {pos + 1})")


def tokenize(text: str) -> list[Token]:
    """Split JQL into tokens."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            value, i = _string(text, i)
            tokens.append(Token("str", value, i))
        elif ch in "(),":
            tokens.append(Token(ch, ch, i))
            i += 1
        elif (op := next((o for o in _OPERATORS if text.startswith(o, i)), None)) is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
        elif (cf := _CF.match(text, i)) is not None:
            tokens.append(Token("cf", f"customfield_{cf.group(1)}", i))
            i = cf.end()
        else:
            start = i
            while i < len(text) and text[i] not in _WORD_STOP:
                i += 1
            tokens.append(Token("word", text[start:i], start))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    """A quoted string starting at ``start``; returns its value and the index after it."""
    quote, i = text[start], start + 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                valid = "\\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX"
                raise syntax_error(
                    f"'\\{nxt}' is an illegal JQL escape sequence. The valid escape sequences are {valid}.", i
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise syntax_error("Unterminated string literal.", start)


class Parser:
    """Recursive descent over the tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def parse(self) -> Query:
        """The whole query: an optional condition, then an optional ORDER BY."""
        where = None if self._keyword("order") or self._at_end() else self._or()
        order: list[tuple[str, bool]] = []
        if self._keyword("order"):
            self.i += 1
            self._expect_keyword("by")
            order = self._order()
        if not self._at_end():
            token = self.tokens[self.i]
            raise syntax_error(f"Expecting either 'OR' or 'AND' but got '{token.text}'.", token.pos)
        return Query(where, order)

    def _or(self) -> Node:
        return self._joined("or", self._and)

    def _and(self) -> Node:
        return self._joined("and", self._not)

    def _joined(self, op: str, part: Callable[[], Node]) -> Node:
        parts = [part()]
        while self._keyword(op):
            self.i += 1
            parts.append(part())
        return parts[0] if len(parts) == 1 else BoolNode(op, tuple(parts))

    def _not(self) -> Node:
        if self._keyword("not"):
            self.i += 1
            return BoolNode("not", (self._not(),))
        if self._peek("("):
            self.i += 1
            node = self._or()
            self._expect(")")
            return node
        return self._clause()

    def _clause(self) -> Clause:
        name = self._field()
        if self._keyword("is"):
            self.i += 1
            negated = self._skip_keyword("not")
            if not (self._keyword("empty") or self._keyword("null")):
                raise self._unexpected("'EMPTY' or 'NULL'")
            self.i += 1
            return Clause(name, "is not" if negated else "is", ())
        if self._keyword("not") or self._keyword("in"):
            negated = self._skip_keyword("not")
            self._expect_keyword("in")
            return Clause(name, "not in" if negated else "in", self._list())
        token = self._next("an operator")
        if token.kind != "op":
            raise syntax_error(f"Expecting operator but got '{token.text}'.", token.pos)
        return Clause(name, token.text, (self._value(),))

    def _field(self) -> str:
        token = self._next("a field name")
        if token.kind in ("str", "cf") or (token.kind == "word" and token.text.lower() not in KEYWORDS):
            return token.text
        raise syntax_error(f"Expecting a field name but got '{token.text}'.", token.pos)

    def _value(self) -> Value:
        token = self._next("a value")
        if token.kind == "str":
            return Value(token.text, quoted=True)
        if token.kind != "word" or token.text.lower() in {"and", "or", "order"}:
            raise syntax_error(f"Expecting either a value, list or function but got '{token.text}'.", token.pos)
        if token.text.lower() in ("empty", "null"):
            return Value("", function="empty")
        if self._peek("("):
            self.i += 1
            while not self._peek(")"):
                self._next("')'")
            self.i += 1
            return Value(token.text, function=token.text.lower())
        return Value(token.text)

    def _list(self) -> tuple[Value, ...]:
        self._expect("(")
        values = [self._value()]
        while self._peek(","):
            self.i += 1
            values.append(self._value())
        self._expect(")")
        return tuple(values)

    def _order(self) -> list[tuple[str, bool]]:
        order = [self._order_item()]
        while self._peek(","):
            self.i += 1
            order.append(self._order_item())
        return order

    def _order_item(self) -> tuple[str, bool]:
        name = self._field()
        descending = False
        if self._keyword("asc") or self._keyword("desc"):
            descending = self.tokens[self.i].text.lower() == "desc"
            self.i += 1
        return name, descending

    # -- token helpers ---------------------------------------------------------------------------

    def _at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def _peek(self, kind: str) -> bool:
        return not self._at_end() and self.tokens[self.i].kind == kind

    def _keyword(self, word: str) -> bool:
        return self._peek("word") and self.tokens[self.i].text.lower() == word

    def _skip_keyword(self, word: str) -> bool:
        if self._keyword(word):
            self.i += 1
            return True
        return False

    def _next(self, wanted: str) -> Token:
        if self._at_end():
            raise syntax_error(f"Expecting {wanted} but reached the end of the query.", len(self.text))
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _expect(self, kind: str) -> None:
        token = self._next(f"'{kind}'")
        if token.kind != kind:
            raise syntax_error(f"Expecting '{kind}' but got '{token.text}'.", token.pos)

    def _expect_keyword(self, word: str) -> None:
        token = self._next(f"'{word.upper()}'")
        if token.kind != "word" or token.text.lower() != word:
            raise syntax_error(f"Expecting '{word.upper()}' but got '{token.text}'.", token.pos)

    def _unexpected(self, wanted: str) -> BadRequest:
        if self._at_end():
            return syntax_error(f"Expecting {wanted} but reached the end of the query.", len(self.text))
        token = self.tokens[self.i]
        return syntax_error(f"Expecting {wanted} but got '{token.text}'.", token.pos)


def parse(text: str) -> Query:
    """Parse a JQL string; raises BadRequest with Jira's wording on a syntax error."""
    return Parser(text).parse()
