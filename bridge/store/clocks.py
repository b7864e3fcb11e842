"""Queries of the desk's clocks and major incidents (the `service-desk` flow's states), the status page's
public entries, and the ``due`` lookup the clock ticks plan from.

The flow keeps one JSON state per watched record (``rec:<route>:<sys_id>``), per major incident
(``mi:<route>:<sys_id>``) and per public status entry (``pub:<sys_id>``). ``due`` (the next moment a record
needs a look) and ``breached`` are top-level fields with expression indexes (migrations 0004 and 0006), so a
tick reads only what is due and the admin page only what is open or breached: the cost follows the open records,
not the table.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from bridge.store.schema import flow_state, state_field_sql

FLOW = "service-desk"
MAX_ROWS = 500


def _field(name: str, postgres: bool) -> sa.ColumnElement[Any]:
    """A top-level field of the JSON state as text, spelt exactly as its index is."""
    return sa.literal_column(state_field_sql(name, "postgresql" if postgres else "sqlite"))


def _rows(conn: sa.Connection, flow: str, prefix: str, *where: Any, order: Any = None) -> list[tuple[str, Any]]:
    query = (
        sa.select(flow_state.c.key, flow_state.c.state)
        .where(flow_state.c.flow == flow, flow_state.c.key.startswith(prefix, autoescape=True), *where)
        .limit(MAX_ROWS)
    )
    if order is not None:
        query = query.order_by(*order)
    return [(key, json.loads(text)) for key, text in conn.execute(query)]


def due_states(conn: sa.Connection, flow: str, *, prefix: str, upto: str, postgres: bool) -> list[tuple[str, Any]]:
    """States whose ``due`` is at or before ``upto`` (UTC ISO text), the most overdue first."""
    due = _field("due", postgres)
    return _rows(conn, flow, prefix, due <= upto, order=(due,))


def open_clocks(conn: sa.Connection, *, postgres: bool) -> list[dict[str, Any]]:
    """Records whose clocks still run or wait, by next due time (the admin page's "due next")."""
    due = _field("due", postgres)
    return [st for _, st in _rows(conn, FLOW, "rec:", due > "", order=(due,))]


def breached(conn: sa.Connection, *, postgres: bool) -> list[dict[str, Any]]:
    """Records with a breach, newest first."""
    field = _field("breached", postgres)
    return [st for _, st in _rows(conn, FLOW, "rec:", field > "", order=(field.desc(),))]


def major_incidents(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every major incident's communications state (a handful a month), newest declaration first."""
    found = [st for _, st in _rows(conn, FLOW, "mi:")]
    return sorted(found, key=lambda st: str(st.get("declared_at", "")), reverse=True)


def public_entries(conn: sa.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    """The public status entries, most recently updated first."""
    found = [st for _, st in _rows(conn, FLOW, "pub:")]
    return sorted(found, key=lambda st: str(st.get("updated_at", "")), reverse=True)[:limit]
