"""Which fields a table has, so a misspelt query field is refused instead of silently matching everything.

The platform drops a condition on an unknown field (unless glide.invalid_query.returns_no_rows is set), so
``correlaton_id=X`` would match every record. Names come from ``sys_dictionary`` over the table and its
parents (``incident`` inherits most columns from ``task``); when the dictionary cannot be read, from the
keys of one record. Results are cached for ``ttl`` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from bridge.errors import PermanentError

from .api import TableApi
from .queries import UnsafeQueryError, field_name, table_name, top_level
from .reads import Pager

log = logging.getLogger(__name__)

_MAX_DEPTH = 10  # table inheritance is never deeper in practice; stops a cycle in bad data


class FieldCatalog:
    """A cached field list per table."""

    def __init__(self, api: TableApi, *, page_size: int, ttl: float, clock: Callable[[], float]) -> None:
        self._api = api
        self._page_size = page_size
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def fields(self, table: str) -> frozenset[str]:
        """The table's field names; empty when neither the dictionary nor a record could tell."""
        with self._lock:
            hit = self._cache.get(table)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        names = self._load(table)
        if names:
            with self._lock:
                self._cache[table] = (self._clock() + self._ttl, names)
        return names

    def require(self, table: str, names: Iterable[str]) -> None:
        """UnsafeQueryError naming every field the table does not have."""
        wanted = top_level(field_name(n.removeprefix("-")) for n in names)
        known = self.fields(table)
        if not known:
            # An empty table with an unreadable dictionary: any query on it matches nothing anyway.
            log.info("ServiceNow fields of %s unknown (no dictionary access, no records)", table)
            return
        unknown = sorted(wanted - known)
        if unknown:
            raise UnsafeQueryError(f"table {table} has no field(s) {', '.join(unknown)}")

    def _load(self, table: str) -> frozenset[str]:
        try:
            names = self._from_dictionary(table)
        except PermanentError as exc:  # 403 ACL, or no such table on this instance (400/404)
            log.info("ServiceNow sys_dictionary unreadable for %s (%s); sampling a record", table, exc.status)
            names = frozenset()
        return names or self._from_sample(table)

    def _from_dictionary(self, table: str) -> frozenset[str]:
        tables = self._lineage(table)
        if not tables:
            return frozenset()
        query = f"nameIN{','.join(tables)}^elementISNOTEMPTY"
        rows = Pager(self._api, "/table/sys_dictionary", self._page_size).pages(query, ["element"])
        return frozenset(str(r["element"]) for r in rows if r.get("element"))

    def _lineage(self, table: str) -> list[str]:
        """The table and its ancestors, from ``sys_db_object.super_class``."""
        lineage: list[str] = []
        current: str | None = table
        while current and current not in lineage and len(lineage) < _MAX_DEPTH:
            rows = self._api.page(
                "/table/sys_db_object",
                query=f"name={current}",
                fields=["name", "super_class.name"],
                limit=1,
                offset=0,
            )
            if not rows:
                break
            lineage.append(current)
            parent = str(rows[0].get("super_class.name") or "")
            current = table_name(parent) if parent else None
        return lineage

    def _from_sample(self, table: str) -> frozenset[str]:
        rows = self._api.page(f"/table/{table}", query="", fields=[], limit=1, offset=0)
        return frozenset(rows[0]) if rows else frozenset()
