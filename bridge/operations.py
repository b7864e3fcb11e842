"""What the engine hands an adapter and what the adapter answers: the one vocabulary they share.

It lives below both (the store keeps operations, the adapters perform them) so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
