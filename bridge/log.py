"""Structured logs: one JSON object per line (or one readable line at a terminal), with route/record ids, and
secrets and MPANs masked before output.

Why it is built this way (issue 15):

- **Off the event loop.** Every logger appends its record to one queue; a thread wakes every 50 ms, masks,
  formats and writes what has queued up (one append per line for the caller: no lock handed over, no thread
  woken per line). The caller only formats the message and cuts what is long: an argument (a URL with a 64 KB
  query) to ``MAX_ARGUMENT`` characters, the message to ``MAX_MESSAGE``, a traceback to ``MAX_TRACEBACK``. So a
  hostile request costs the webhook path a copy, never a scan, and the masker's work per line is bounded. When
  the queue is full the record is dropped and counted (``bridge_log_records_dropped_total``): the loop never
  waits.
- **Masking, linear, once per line**: the configured secret values long enough to be told from common words
  (``MIN_MASKED`` characters) wherever they appear, in one regex pass; any value in a secret's position
  (``password=...``, ``"token": "..."``, ``Authorization: Bearer ...``, ``X-Hub-Signature: ...``, a URL's
  ``user:password@``) whatever its length; and MPANs (:mod:`bridge.mappings.redaction`). The message, the
  traceback, the stack and every ``extra`` field are masked, numbers and objects included (an MPAN can be an
  ``int``; a secret can sit in an exception's text or a dict).
- **A line stays a line**: JSON escapes control characters, and U+2028, U+2029 and NEL are escaped as well,
  which ``json.dumps`` leaves raw and some log shippers split on.
- **A person at a terminal reads a line, a shipper parses JSON** (``log.json: auto``, the default): when stderr
  is a terminal each record is ``time LEVEL message key=value ...`` (:class:`ReadableFormatter`), otherwise JSON;
  ``true``/``false`` force one or the other. Both pass through the same masking filter.
"""

from __future__ import annotations

import atexit
import collections
import copy
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter

MAX_ARGUMENT = 512
MAX_MESSAGE = 8192
MAX_TRACEBACK = 16384
MIN_MASKED = 8  # shorter secrets are masked only where they stand as a secret's value
QUEUE_SIZE = 10_000
DROPPED = Counter("bridge_log_records_dropped_total", "Log records dropped because the log queue was full")

# uvicorn's `color_message` repeats the message with terminal colour codes: never a field of ours
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "color_message"}
_MASKED_NAMES = (
    r"(?:password|passwd|pwd|secret|client_secret|push_secret|webhook_secret|token|tokens|access_token|"
    r"refresh_token|api_token|oauth2_token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signature|"
    r"x-bridge-signature|x-hub-signature|x-bridge-token|cookie|set-cookie|credentials?)"
)
_PATTERNS = [
    # key=value (query strings, forms), "key": "value" and key: value (JSON, YAML, headers)
    re.compile(rf"(?i)(?<![\w-])({_MASKED_NAMES}=)[^&\s\"']+"),
    re.compile(rf"(?i)(?<![\w-])(\"?{_MASKED_NAMES}\"?\s*:\s*\")[^\"]*"),
    re.compile(rf"(?i)(?<![\w-])({_MASKED_NAMES}\s*:[ \t]*)(?![\"\[{{])[^\s,;\"']+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?=@)"),
]
_LINE_BREAKING = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def cut(text: str, limit: int) -> str:
    """``text`` whole if short, else its first ``limit`` characters and how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}...[{len(text) - limit} characters cut]"


class SecretFilter(logging.Filter):
    """Masks configured secret values, secret-looking values and MPANs in every part of a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        values = sorted({s for s in secrets if len(s) >= MIN_MASKED}, key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, values))) if values else None
        self.mpan_redact: Callable[[str], str] | None = _mpan_redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.mask(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = cut(logging.Formatter().formatException(record.exc_info), MAX_TRACEBACK)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, self._masked_field(value))
        return True

    def mask(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub("***", text)
        for pattern in _PATTERNS:
            text = pattern.sub(r"\1***", text)
        return self.mpan_redact(text) if self.mpan_redact else text

    def _masked_field(self, value: Any) -> Any:
        """Strings masked; numbers kept unless masking changes them (an MPAN); anything else as masked text."""
        if value is None or isinstance(value, bool):
            return value
        text = value if isinstance(value, str) else _as_text(value)
        masked = self.mask(cut(text, MAX_MESSAGE))
        if isinstance(value, int | float) and masked == text:
            return value
        return masked


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _mpan_redactor() -> Callable[[str], str] | None:
    try:
        from bridge.mappings.redaction import redact_mpans
    except ImportError:
        return None
    return redact_mpans


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...extra}`: every `extra=` field becomes a key; one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False).translate(_LINE_BREAKING)


class ReadableFormatter(logging.Formatter):
    """`2026-05-01T09:30:00Z INFO  delivered route=azure number=INC0010001 ...`: for a person at a terminal.

    Every ``extra=`` field is kept as ``key=value`` (quoted when it has spaces), so nothing the JSON line says
    is lost; a traceback follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        parts = [when, f"{record.levelname:<7}", _one_line(record.getMessage())]
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                parts.append(f"{key}={_readable(value)}")
        line = " ".join(parts)
        exc = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exc:
            line += "\n" + exc
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


_BARE = re.compile(r"[^\s\"'=\x00-\x1f\x7f\u2028\u2029\x85]+")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def _readable(value: Any) -> str:
    """A value as a key=value line shows it: bare when it can be, else JSON-quoted (escapes control chars)."""
    text = value if isinstance(value, str) else _as_text(value)
    if text and _BARE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False).translate(_LINE_BREAKING)


def _one_line(text: str) -> str:
    """The message with its line breaks and control characters escaped, so one record stays one line."""
    if not _BREAKS.search(text):
        return text
    return json.dumps(text, ensure_ascii=False)[1:-1].translate(_LINE_BREAKING)


def use_json(setting: bool | str, stream: Any) -> bool:
    """``log.json``: true/false force it; ``auto`` means JSON unless ``stream`` is a terminal."""
    if isinstance(setting, bool):
        return setting
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


class CuttingQueueHandler(logging.Handler):
    """Puts a bounded copy of each record on the writer's queue; the caller never masks, scans or waits."""

    _formatter = logging.Formatter()

    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.put(self.prepare(record))
        except Exception:
            self.handleError(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        if record.args:
            record.args = _cut_arguments(record.args)
        message = cut(_message(record), MAX_MESSAGE)
        record.msg, record.args, record.message = message, None, message
        if record.exc_info:
            record.exc_text = cut(self._formatter.formatException(record.exc_info), MAX_TRACEBACK)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = cut(record.stack_info, MAX_TRACEBACK)
        return record


class LogWriter(threading.Thread):
    """The one thread that masks, formats and writes. It wakes every ``interval`` and writes what has queued up,
    so a logging call is an append (no lock handed over, no thread woken per line); a full queue drops."""

    def __init__(self, output: logging.Handler, *, interval: float = 0.05, limit: int = QUEUE_SIZE) -> None:
        super().__init__(name="bridge-log-writer", daemon=True)
        self.output = output
        self.interval = interval
        self.limit = limit
        self.records: collections.deque[logging.LogRecord] = collections.deque()
        self._stopping = threading.Event()

    def put(self, record: logging.LogRecord) -> None:
        if len(self.records) >= self.limit:
            DROPPED.inc()
            return
        self.records.append(record)

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            self._drain()
        self._drain()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._stopping.set()
        self.join(timeout=10)

    def _drain(self) -> None:
        while self.records:
            self.output.handle(self.records.popleft())
        self.output.flush()


def _cut_arguments(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(cut(a, MAX_ARGUMENT) if isinstance(a, str) else a for a in args)
    return args


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string: keep what we have rather than lose the line
        return f"{record.msg} {record.args!r}"


_writer: LogWriter | None = None


def setup_logging(level: str = "INFO", *, secrets: Iterable[str] = (), json_format: bool | str = "auto") -> None:
    """Route every logger through one queue to one masking, formatting thread writing to stderr: JSON lines, or
    readable lines (``json_format`` false, or ``auto`` with stderr a terminal)."""
    global _writer
    stop_logging()
    output = logging.StreamHandler(sys.stderr)
    output.setFormatter(JsonFormatter() if use_json(json_format, sys.stderr) else ReadableFormatter())
    output.addFilter(SecretFilter(secrets))
    _writer = LogWriter(output)
    _writer.start()
    root = logging.getLogger()
    root.handlers[:] = [CuttingQueueHandler(_writer)]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("apscheduler").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")  # "Context impl SQLiteImpl." says nothing to an operator


def stop_logging() -> None:
    """Write what is queued and stop the writing thread (at exit, or before logging is set up again)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(stop_logging)
