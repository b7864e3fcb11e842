"""Fault injection: latency, a per-user rate limit with Retry-After, random 500 / 503 / dropped connections.

Jira Cloud answers a request over its rate limit with 429, a ``Retry-After`` header (seconds) and
``X-RateLimit-*`` headers (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/). The emulator
counts requests per user in one-second windows so a test can reach the limit. The machinery is shared
(:mod:`.._base.faults`); this module names Jira's fault kinds and knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._base import faults as base
from .._base.faults import RateLimiter as RateLimiter

FAULT_KINDS: tuple[str, ...] = ("500", "503", "drop")
#: ``lost`` is opt-in: the request takes effect, then the connection drops before the answer (an uncertain write).
KNOWN_FAULTS: tuple[str, ...] = (*FAULT_KINDS, "lost")


@dataclass(frozen=True)
class FaultConfig(base.BaseFaultConfig):
    """The knobs, settable from CLI flags, the Python API and ``POST /emulator/admin/faults``."""

    KNOWN_KINDS = KNOWN_FAULTS

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    seed: int | None = None

    @classmethod
    def coerce_kinds(cls, kinds: object) -> object:
        """A comma-separated string or a list of kinds (each made a string) as a tuple; anything else as given."""
        if isinstance(kinds, str):
            return tuple(kinds.split(","))
        if isinstance(kinds, list | tuple):
            return tuple(str(k) for k in kinds)
        return kinds


class FaultInjector(base.FaultInjector[FaultConfig]):
    """Draws which requests fail ("500", "503", "drop", "lost"), from one seedable RNG shared by all threads."""
