"""Request counters (``GET /emulator/admin/stats``): the benchmarks count API calls with them."""

from __future__ import annotations

from .._base.stats import BaseStats


class Stats(BaseStats):
    """Thread-safe counts of API requests by method, table, status and injected fault."""

    GROUPS = ("by_method", "by_table", "by_method_table", "by_status", "faults", "latency", "batch")

    def request(self, method: str, resource: str) -> None:
        """Count one API request as it arrives (before any fault or auth check)."""
        with self._lock:
            self.total += 1
            self._bump("by_method", method)
            self._bump("by_table", resource)
            self._bump("by_method_table", f"{method} {resource}")

    def batch_items(self, count: int, unserviced: int = 0) -> None:
        """Count the sub-requests a Batch API call carried (``items``) and those it left ``unserviced``."""
        with self._lock:
            self._bump("batch", "items", count)
            if unserviced:
                self._bump("batch", "unserviced", unserviced)
