"""Structured logs: one JSON object per line, with route/record ids, and secrets masked before output.

Masking happens in a filter on the handler, so it covers every logger (ours, uvicorn's access log, libraries):
configured secret values, `token=` query parameters, `Authorization` values, and MPANs (when the redaction
module is present) never reach the output.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_PATTERNS = [
    re.compile(r"(?i)((?:token|access_token|refresh_token|client_secret|password|secret)=)[^&\s\"']+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"),
]


class SecretFilter(logging.Filter):
    """Replaces known secret values and secret-looking patterns with `***` in the final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self.mpan_redact = _mpan_redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.mask(message)
        if clean != message:
            record.msg, record.args = clean, None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.mask(value))
        return True

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        for pattern in _PATTERNS:
            text = pattern.sub(r"\1***", text)
        return self.mpan_redact(text) if self.mpan_redact else text


def _mpan_redactor() -> Any:
    try:
        from bridge.mappings.redaction import redact_mpans
    except ImportError:
        return None
    return redact_mpans


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...extra}`: every `extra=` field becomes a key."""

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
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", *, secrets: Iterable[str] = (), json_format: bool = True) -> None:
    """Route every logger through one handler on stderr, with the secret filter on the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("apscheduler").setLevel("WARNING")
