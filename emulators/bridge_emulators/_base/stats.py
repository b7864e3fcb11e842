"""Thread-safe request counters (``GET /emulator/admin/stats``), shared by the emulators."""

from __future__ import annotations

import threading
from collections import Counter
from typing import ClassVar


class BaseStats:
    """Named groups of counters plus a request total; subclasses name the groups a snapshot shows."""

    #: the groups :meth:`snapshot` reports (an empty group shows as ``{}``)
    GROUPS: ClassVar[tuple[str, ...]] = ("by_status", "faults", "latency")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[str]] = {}
        self.total = 0

    def outcome(self, status: str) -> None:
        """Count how a request ended: a status code, "dropped" or "stalled"."""
        with self._lock:
            self._bump("by_status", status)

    def fault(self, kind: str) -> None:
        """Count one injected fault (a fault kind, "rate_limited", "hibernate")."""
        with self._lock:
            self._bump("faults", kind)

    def delayed(self, ms: float) -> None:
        """Count one answer held back by the latency knob (``latency``: ``requests`` and their total ``ms``), so
        a test reads that the delay was applied, and to which calls, rather than timing the answer."""
        with self._lock:
            self._bump("latency", "requests")
            self._bump("latency", "ms", round(ms))

    def _bump(self, group: str, key: str, by: int = 1) -> None:
        """Add to one counter; the caller holds the lock."""
        self._counters.setdefault(group, Counter())[key] += by

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            data: dict[str, object] = {"requests_total": self.total}
            for group in self.GROUPS:
                data[group] = dict(self._counters.get(group, Counter()))
            return data

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counters.clear()
            self.total = 0
