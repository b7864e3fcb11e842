"""Reading SQLite's own query plan for the statements a piece of code runs: a statement that scans a growing
table gets slower as the bridge ages, whatever the machine, so tests check the plan instead of timing it.

``capture(store)`` records every statement (with its parameters) the store's engine runs from then on;
``full_scans(store, statements)`` asks SQLite to ``EXPLAIN QUERY PLAN`` each one and returns the steps that read
a whole table or a whole index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event

from bridge.store import Store

#: tables with a row per route or poller: reading all of one is the right plan
SMALL = ("route_state", "watermarks")
#: partial indexes holding only the backlog (the unfinished operations), never history: the claim walks one in
#: order and stops at its LIMIT, which is the right plan however many operations have finished
BACKLOG = ("ix_outbox_unfinished",)
Statement = tuple[str, Any]


def capture(store: Store) -> list[Statement]:
    """A list that fills with each statement (and its first row of parameters) the store runs from now on."""
    seen: list[Statement] = []

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, executemany: bool) -> None:
        batched = executemany and params and isinstance(params[0], (list, tuple, dict))
        first = params[0] if batched else params  # "insertmanyvalues" sends one flat row of parameters
        seen.append((statement, first if isinstance(first, dict) else tuple(first or ())))

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


def full_scans(store: Store, statements: Iterable[Statement], *, small: Iterable[str] = SMALL) -> list[str]:
    """The plan steps that read every row of a table (or of an index), each with the statement it belongs to."""
    allowed = set(small)
    raw = store.engine.raw_connection()
    try:
        found = []
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")):
                continue
            plan = [row[3] for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
            for step in plan:
                # "SCAN inbox", "SCAN o USING INDEX ..." or "... USING COVERING INDEX ...": every row read,
                # whether from the table or from a whole index; only a list of constants may be scanned
                backlog = any(step.endswith(f"USING INDEX {name}") for name in BACKLOG)
                scan = step.startswith("SCAN") and "CONSTANT ROWS" not in step and step.split()[1] not in allowed
                if scan and not backlog:
                    found.append(f"{step}  <-  {' '.join(sql.split())[:160]}")
        return found
    finally:
        raw.close()


class SqliteWork:
    """Counts the virtual-machine instructions SQLite runs for a store (to within ``GRAIN``): the work a page's
    queries cost, the same on any machine. A query that scans a table costs more as the table grows; one that
    searches an index and stops at its LIMIT costs the same on 10,000 rows as on 100,000."""

    GRAIN = 100

    def __init__(self, store: Store) -> None:
        self.steps = 0
        self._connections: dict[int, Any] = {}
        event.listen(store.engine, "before_cursor_execute", self._watch)
        self._store = store

    def _watch(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        dbapi = cursor.connection
        if id(dbapi) not in self._connections:
            self._connections[id(dbapi)] = dbapi
            dbapi.set_progress_handler(self._tick, self.GRAIN)

    def _tick(self) -> int:
        self.steps += self.GRAIN
        return 0  # 0: carry on

    def close(self) -> None:
        event.remove(self._store.engine, "before_cursor_execute", self._watch)
        for dbapi in self._connections.values():
            dbapi.set_progress_handler(None, 0)
