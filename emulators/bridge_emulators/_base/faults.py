"""Fault knobs, the seeded fault draw and the per-user rate limiter, shared by the emulators.

Each emulator subclasses :class:`BaseFaultConfig` with its own fault kinds and extra knobs; the validation,
the run-time updates, the seeded draw and the one-second rate-limit windows are the same for all.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import ClassVar, Generic, Protocol, Self, TypeVar


@dataclass(frozen=True)
class BaseFaultConfig:
    """The knobs every emulator has; subclasses add theirs and name the kinds they know."""

    #: the fault kinds this emulator can inject
    KNOWN_KINDS: ClassVar[tuple[str, ...]] = ()
    #: the knobs that must not be negative, in the order the error message names them
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("latency_ms", "rate_limit")

    latency_ms: float = 0.0
    rate_limit: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(self.KNOWN_KINDS)
        if unknown or not self.fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {', '.join(self.KNOWN_KINDS)}")
        if any(getattr(self, name) < 0 for name in self.NON_NEGATIVE):
            *first, last = self.NON_NEGATIVE
            raise ValueError(f"{', '.join(first)} and {last} must not be negative")

    def updated(self, changes: Mapping[str, object]) -> Self:
        """A copy with some knobs changed; unknown names or bad values raise ValueError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = dict(changes)
        if "fault_kinds" in values:
            values["fault_kinds"] = self.coerce_kinds(values["fault_kinds"])
        return replace(self, **values)  # type: ignore[arg-type]

    @classmethod
    def coerce_kinds(cls, kinds: object) -> object:
        """``fault_kinds`` as given at run time ("500,drop" or a list) as a tuple; validation comes after."""
        return tuple(kinds.split(",") if isinstance(kinds, str) else kinds)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        data = asdict(self)
        data["fault_kinds"] = list(self.fault_kinds)
        return data


class SeededConfig(Protocol):
    """What the fault draw reads: each emulator's config has a seed, though not at the same position."""

    @property
    def fault_rate(self) -> float: ...

    @property
    def fault_kinds(self) -> tuple[str, ...]: ...

    @property
    def seed(self) -> int | None: ...


ConfigT = TypeVar("ConfigT", bound=SeededConfig)


class FaultInjector(Generic[ConfigT]):
    """Draws which requests fail, from one seedable RNG shared by all server threads."""

    def __init__(self, config: ConfigT) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._rng = random.Random(config.seed)

    def configure(self, config: ConfigT, *, reseed: bool = False) -> None:
        """Swap the knobs; ``reseed`` (a seed was given) restarts the random sequence."""
        with self._lock:
            if reseed:
                self._rng = random.Random(config.seed)
            self.config = config

    def draw(self) -> str | None:
        """The fault for the next request (one of the configured kinds) or None."""
        with self._lock:
            if self.config.fault_rate <= 0 or self._rng.random() >= self.config.fault_rate:
                return None
            return self._rng.choice(self.config.fault_kinds)


class RateLimiter:
    """Fixed one-second windows per user, aligned to the clock so a reset time is a whole second. ``clock``
    (Unix seconds) is injectable, so a test steps into the next window instead of sleeping."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}
        self.clock = clock

    def hit(self, user: str, limit: int, now: float | None = None) -> tuple[bool, int]:
        """Count one request: (allowed, Unix time the window resets)."""
        window = int(self.clock() if now is None else now)
        with self._lock:
            start, count = self._windows.get(user, (window, 0))
            if start != window:
                start, count = window, 0
            self._windows[user] = (start, count + 1)
        return count + 1 <= limit, window + 1

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._windows.clear()
