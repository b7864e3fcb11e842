"""How an IMAP failure is classified: the one table, in the terms of :mod:`bridge.errors`.

Refused logins, TLS verification failures and refusals with a permanent response code (RFC 5530: NOPERM,
NONEXISTENT, ...) are permanent; dropped connections, timeouts and anything unknown are worth a retry.
"""

from __future__ import annotations

import imaplib
import ssl

from imapclient.exceptions import CapabilityError, IllegalStateError, LoginError

from bridge.errors import DeliveryError, PermanentError, TransientError
from bridge.mappings.redaction import redact_mpans

_TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG", "OVERQUOTA", "EXPUNGEISSUED"})


def classify_imap_error(exc: BaseException, where: str) -> DeliveryError:
    """The one table: refused logins, TLS failures and missing folders are permanent; the rest retries."""
    message = redact_mpans(" ".join(str(exc).replace("b'", "'").split()))[:300]
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(f"{where}: TLS certificate verification failed: {exc.verify_message}")
    if isinstance(exc, LoginError):
        return PermanentError(f"{where}: login refused: {message}")
    if isinstance(exc, imaplib.IMAP4.abort | OSError):
        return TransientError(f"{where}: connection failed: {type(exc).__name__}: {message}")
    code = _response_code(message)
    if code and code not in _TRANSIENT_CODES:
        return PermanentError(f"{where}: {message}")
    if isinstance(exc, CapabilityError | IllegalStateError):
        return PermanentError(f"{where}: {message}")
    return TransientError(f"{where}: {message}")


def _response_code(message: str) -> str | None:
    """The ``[CODE]`` of a tagged NO/BAD response (RFC 5530), e.g. ``NONEXISTENT``."""
    start = message.find("[")
    end = message.find("]", start)
    if start < 0 or end < 0:
        return None
    return message[start + 1 : end].split()[0].upper() if message[start + 1 : end].strip() else None
