"""The link table: a record on one system <-> its counterpart on another, with the version the bridge's last
write produced there. Creates write links; later operations, echo checks and lookups read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bridge.store import Store, dumps, now
from bridge.store.inbox import insert_ignore
from bridge.store.schema import links


def put_link(
    conn: sa.Connection,
    store: Store,
    link: tuple[str, str, str],
    target_id: str,
    *,
    version_b: str | None = None,
    info: dict[str, Any] | None = None,
    t: float | None = None,
) -> None:
    """Record source (system, id) <-> target (system, id); an existing link keeps its pair, gets versions."""
    t = now() if t is None else t
    system_a, id_a, system_b = link
    stmt = insert_ignore(store, links).values(
        system_a=system_a,
        id_a=id_a,
        system_b=system_b,
        id_b=target_id,
        version_b=version_b,
        info=dumps(info) if info else None,
        created_at=t,
        updated_at=t,
    )
    # an existing link keeps its pair (never re-pointed silently); only its version moves
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["system_a", "id_a", "system_b"], set_={"version_b": version_b, "updated_at": t}
        )
    )


def put_links(
    conn: sa.Connection, store: Store, rows: Sequence[tuple[tuple[str, str, str], str, str | None]], *, t: float
) -> None:
    """:func:`put_link` for many (link, target id, version) rows in one executemany: a batch's worth of creates
    costs one statement, not one per record."""
    latest = {link: (link, target_id, version) for link, target_id, version in rows}  # one row per pair
    if not latest:
        return
    stmt = insert_ignore(store, links)
    stmt = stmt.on_conflict_do_update(
        index_elements=["system_a", "id_a", "system_b"],
        set_={"version_b": stmt.excluded.version_b, "updated_at": stmt.excluded.updated_at},
    )
    values = [
        {
            "system_a": system_a,
            "id_a": id_a,
            "system_b": system_b,
            "id_b": target_id,
            "version_b": version,
            "info": None,
            "created_at": t,
            "updated_at": t,
        }
        for (system_a, id_a, system_b), target_id, version in latest.values()
    ]
    conn.execute(stmt, values)


def find_link(conn: sa.Connection, system: str, record_id: str, other_system: str) -> str | None:
    """The id on ``other_system`` linked to (system, record_id), looked up from either side."""
    forward = conn.execute(
        sa.select(links.c.id_b).where(
            links.c.system_a == system, links.c.id_a == record_id, links.c.system_b == other_system
        )
    ).scalar()
    if forward is not None:
        return str(forward)
    backward = conn.execute(
        sa.select(links.c.id_a).where(
            links.c.system_b == system, links.c.id_b == record_id, links.c.system_a == other_system
        )
    ).scalar()
    return None if backward is None else str(backward)


def find_links(conn: sa.Connection, system: str, record_ids: Sequence[str], other_system: str) -> dict[str, str]:
    """:func:`find_link` for many records at once (two index searches, not two per record): record id -> the
    linked id on ``other_system``, for those that have one."""
    if not record_ids:
        return {}
    ids = sorted(set(record_ids))
    found: dict[str, str] = {}
    backward = sa.select(links.c.id_b, links.c.id_a).where(
        links.c.system_b == system, links.c.id_b.in_(ids), links.c.system_a == other_system
    )
    found.update({str(mine): str(theirs) for mine, theirs in conn.execute(backward)})
    forward = sa.select(links.c.id_a, links.c.id_b).where(
        links.c.system_a == system, links.c.id_a.in_(ids), links.c.system_b == other_system
    )
    found.update({str(mine): str(theirs) for mine, theirs in conn.execute(forward)})  # as find_link: forward wins
    return found


def links_for(conn: sa.Connection, record_id: str) -> list[dict[str, Any]]:
    """Every link that mentions ``record_id`` on either side (admin lookup by any id)."""
    rows = conn.execute(sa.select(links).where(sa.or_(links.c.id_a == record_id, links.c.id_b == record_id)))
    return [dict(row._mapping) for row in rows]


def linked_version(conn: sa.Connection, link: tuple[str, str], other_system: str) -> str | None:
    """The version the last delivered write produced on ``other_system``'s side of a link (None: unknown)."""
    query = sa.select(links.c.version_b).where(
        links.c.system_a == link[0], links.c.id_a == link[1], links.c.system_b == other_system
    )
    value = conn.execute(query).scalar()
    return None if value is None else str(value)
