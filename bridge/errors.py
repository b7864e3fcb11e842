"""Every error the bridge raises on purpose; the class says what the caller should do about it.

    BridgeError
    ├── ConfigError            bad configuration: report every problem, refuse to start
    ├── InputError             bad inbound data (webhook body, registry file): 4xx / exit 1, nothing stored
    ├── MappingError           a mapping could not turn an event into operations: the event is dead-lettered
    ├── StoreUnreachable       the database cannot be reached: say where and why in one line, exit 3
    └── DeliveryError          talking to a target failed
        ├── TransientError     worth retrying: timeouts, resets, 408, 5xx, a hibernating instance
        │   └── RateLimitedError   429 or a budget exhausted; carries the target's Retry-After
        └── PermanentError     retrying cannot help (400, 403, 404, ambiguous lookups): dead-letter at once

Callers catch by intent (``except TransientError``), never by HTTP status; the status -> class decision is
made once, in :mod:`bridge.failures`.
"""

from __future__ import annotations

from typing import Any


class BridgeError(Exception):
    """Base of every error raised by the bridge on purpose."""


class ConfigError(BridgeError):
    """Configuration is invalid; ``problems`` lists every one of them as ``location: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid configuration")


class InputError(BridgeError):
    """Inbound data is malformed; ``path`` names the offending field (dotted, ``$`` for the root)."""

    def __init__(self, message: str, *, path: str = "$") -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class MappingError(BridgeError):
    """A mapping could not produce output for an event (missing field, bad template, unknown value)."""


class DeliveryError(BridgeError):
    """A target could not be written to; ``status`` and ``body`` keep the target's own answer; ``audit`` holds
    entries for the audit log when the failure is a decision worth recording (an email refused by the MPAN gate).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        audit: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.audit = list(audit or [])
        super().__init__(message)


class TransientError(DeliveryError):
    """Retry later: the target may accept the same request then."""


class RateLimitedError(TransientError):
    """The target asked us to slow down; ``retry_after`` is its own hint in seconds, if it gave one."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        body: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, body=body)


class PermanentError(DeliveryError):
    """Never retry: the request itself is wrong, or the target's data makes it impossible."""


__all__ = [
    "BridgeError",
    "ConfigError",
    "DeliveryError",
    "InputError",
    "MappingError",
    "PermanentError",
    "RateLimitedError",
    "TransientError",
]


class StoreUnreachable(BridgeError):
    """The store's database cannot be reached; ``where`` is its URL with the password masked, ``reason`` the
    driver's one-line answer (refused, unknown host, authentication failed)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"cannot reach the store at {where}: {reason}")
