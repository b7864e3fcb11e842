"""The small protocol every target adapter speaks, and the registry that names them.

An adapter does I/O only: it receives an :class:`Operation` the engine planned (create, update, comment...)
and performs it against its system, raising the :mod:`bridge.errors` class that says whether to retry.
Business meaning (which fields, which state) lives in mappings, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from bridge.operations import JSON, DeliveryResult, Operation

__all__ = ["JSON", "Adapter", "AdapterFactory", "BatchingAdapter", "DeliveryResult", "Operation"]


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


@runtime_checkable
class BatchingAdapter(Adapter, Protocol):
    """An adapter that can also perform many records' writes in one call (ServiceNow's Batch API).

    The dispatcher decides what goes together (only independent records, one operation each); the adapter
    only sends and answers per operation, classifying each one's failure as the single call would.
    """

    @property
    def batch_size(self) -> int:
        """The most operations one call carries; 0 (or 1) means batching is off."""
        ...

    @property
    def batch_actions(self) -> frozenset[str]:
        """The actions that may go in a batch (the others are always delivered alone)."""
        ...

    def deliver_batch(self, ops: Sequence[Operation]) -> list[DeliveryResult | BaseException]:
        """Perform ``ops``; one outcome per op, in order: its result or the error it failed with."""
        ...


AdapterFactory = Callable[[str, Mapping[str, Any]], Adapter]
