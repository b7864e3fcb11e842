"""The small protocol every target adapter speaks, and the registry that names them.

An adapter does I/O only: it receives an :class:`Operation` the engine planned (create, update, comment...)
and performs it against its system, raising the :mod:`bridge.errors` class that says whether to retry.
Business meaning (which fields, which state) lives in mappings, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

JSON = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One planned write, as the dispatcher hands it to an adapter.

    ``target_key`` is the logical record the operation belongs to (operations with the same key run one at a
    time, in order). ``target_id`` is the id the link table already knows for that record (``None`` when the
    record has not been created yet). ``attempts`` counts this attempt, so ``attempts > 1`` means an earlier
    attempt may or may not have taken effect.
    """

    id: int
    route: str
    target_system: str
    target_key: str
    action: str
    payload: JSON
    idempotency_key: str
    attempts: int = 1
    target_id: str | None = None
    correlation: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """What the target said: the record id it holds now and its version, when the target has them."""

    target_id: str | None = None
    version: str | None = None
    detail: JSON = field(default_factory=dict)


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
