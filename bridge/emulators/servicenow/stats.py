"""Request counters (``GET /emulator/admin/stats``): the benchmarks count API calls with them."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """Thread-safe counts of API requests by method, table, status and injected fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[str]] = {}
        self.total = 0

    def request(self, method: str, resource: str) -> None:
        """Count one API request as it arrives (before any fault or auth check)."""
        with self._lock:
            self.total += 1
            self._bump("by_method", method)
            self._bump("by_table", resource)
            self._bump("by_method_table", f"{method} {resource}")

    def outcome(self, status: str) -> None:
        """Count how a request ended: a status code, "dropped" or "stalled"."""
        with self._lock:
            self._bump("by_status", status)

    def fault(self, kind: str) -> None:
        """Count one injected fault (500, 503, drop, stall, rate_limited, hibernate)."""
        with self._lock:
            self._bump("faults", kind)

    def batch_items(self, count: int) -> None:
        """Count the sub-requests a Batch API call carried."""
        with self._lock:
            self._counters.setdefault("batch", Counter())["items"] += count

    def _bump(self, group: str, key: str) -> None:
        self._counters.setdefault(group, Counter())[key] += 1

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            data: dict[str, object] = {"requests_total": self.total}
            for group in ("by_method", "by_table", "by_method_table", "by_status", "faults", "batch"):
                data[group] = dict(self._counters.get(group, Counter()))
            return data

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counters.clear()
            self.total = 0
