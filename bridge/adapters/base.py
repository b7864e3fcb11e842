"""The small protocol every target adapter speaks, and the registry that names them.

An adapter does I/O only: it receives an :class:`Operation` the engine planned (create, update, comment...)
and performs it against its system, raising the :mod:`bridge.errors` class that says whether to retry.
Business meaning (which fields, which state) lives in mappings, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from bridge.operations import JSON, DeliveryResult, Operation

__all__ = ["JSON", "Adapter", "AdapterFactory", "DeliveryResult", "Operation"]


@runtime_checkable
class Adapter(Protocol):
    """A target system the dispatcher can deliver operations to."""

    name: str

    def deliver(self, op: Operation) -> DeliveryResult:
        """Perform ``op``; raise TransientError / RateLimitedError / PermanentError on failure."""
        ...

    def lookup(self, op: Operation) -> str | None:
        """Find the record an earlier, uncertain attempt of ``op`` may have created (by its correlation key).

        Returns the target id, ``None`` if there is none; raises PermanentError on more than one match.
        """
        ...

    def check(self) -> str:
        """Test the connection; return a one-line description, raise DeliveryError if unreachable."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


AdapterFactory = Callable[[str, Mapping[str, Any]], Adapter]
