"""Small tables: audit log, watermarks, flow state, route pause flags, link lookups, dead letters."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from bridge.store import Store, dumps, loads, now
from bridge.store.inbox import dialect_insert, insert_ignore
from bridge.store.schema import (
    admin_session_revocations,
    audit,
    dead_letters,
    flow_state,
    route_state,
    watermarks,
)


def write_audit(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    route: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    conn.execute(
        sa.insert(audit).values(
            at=now(),
            actor=actor,
            action=action,
            subject=subject,
            route=route,
            before=None if before is None else dumps(before),
            after=None if after is None else dumps(after),
        )
    )


def get_watermark(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(sa.select(watermarks.c.value).where(watermarks.c.name == name)).scalar()


def set_watermark(conn: sa.Connection, store: Store, name: str, value: str) -> None:
    stmt = insert_ignore(store, watermarks).values(name=name, value=value, updated_at=now())
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": now()}))


# The planner reads and writes flow state for nearly every event: these statements are built once, with bound
# parameters, so each call costs only its execution (building a statement costs more than running it on SQLite).
_GET_FLOW_STATE = sa.select(flow_state.c.state).where(
    flow_state.c.flow == sa.bindparam("flow"), flow_state.c.key == sa.bindparam("key")
)


@functools.cache
def _put_flow_state(postgres: bool) -> Any:
    stmt = dialect_insert(postgres, flow_state).values(
        flow=sa.bindparam("flow"), key=sa.bindparam("key"), state=sa.bindparam("state"), updated_at=sa.bindparam("t")
    )
    return stmt.on_conflict_do_update(
        index_elements=["flow", "key"], set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at}
    )


def get_flow_state(conn: sa.Connection, flow: str, key: str) -> dict[str, Any] | None:
    text = conn.execute(_GET_FLOW_STATE, {"flow": flow, "key": key}).scalar()
    return loads(text) if text else None


def put_flow_state(conn: sa.Connection, store: Store, flow: str, key: str, state: dict[str, Any]) -> None:
    put_flow_states(conn, store, flow, {key: state})


def put_flow_states(conn: sa.Connection, store: Store, flow: str, states: Mapping[str, dict[str, Any]]) -> None:
    """Write several states of one flow in one executemany (a plan's writes)."""
    if states:
        t = now()
        rows = [{"flow": flow, "key": key, "state": dumps(state), "t": t} for key, state in states.items()]
        conn.execute(_put_flow_state(store.is_postgres), rows)


def paused_routes(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(route_state.c.route).where(route_state.c.paused.is_(True))).scalars())


def route_states(conn: sa.Connection) -> dict[str, sa.Row[Any]]:
    """Every route an operator has paused or resumed: its flag, who changed it and when (a row per route)."""
    return {row.route: row for row in conn.execute(sa.select(route_state))}


def set_paused(conn: sa.Connection, store: Store, route: str, paused: bool, *, actor: str) -> None:
    t = now()
    stmt = insert_ignore(store, route_state).values(route=route, paused=paused, updated_at=t, updated_by=actor)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["route"], set_={"paused": paused, "updated_at": t, "updated_by": actor}
        )
    )
    write_audit(conn, actor=actor, action="pause" if paused else "resume", route=route)


def add_dead_letter(
    conn: sa.Connection, *, kind: str, ref_id: int, route: str, reason: str, target_answer: str | None = None
) -> None:
    conn.execute(
        sa.insert(dead_letters).values(
            kind=kind,
            ref_id=ref_id,
            route=route,
            reason=reason,
            target_answer=target_answer,
            status="open",
            created_at=now(),
        )
    )


def open_dead_letter_count(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(dead_letters).where(dead_letters.c.status == "open")
        ).scalar_one()
    )


def flow_states(conn: sa.Connection, flow: str, *, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """Every state of ``flow`` whose key starts with ``prefix`` (e.g. every e-bonded case: ``case:``)."""
    rows = conn.execute(
        sa.select(flow_state.c.key, flow_state.c.state).where(
            flow_state.c.flow == flow, flow_state.c.key.like(f"{prefix}%")
        )
    )
    return [(key, loads(raw)) for key, raw in rows]


def revoke_admin_session(conn: sa.Connection, store: Store, sid: str, *, expires_at: float) -> None:
    """Remember a logged-out session until it would have expired anyway; forget the ones past that."""
    stmt = insert_ignore(store, admin_session_revocations).values(sid=sid, expires_at=expires_at)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["sid"]))
    conn.execute(sa.delete(admin_session_revocations).where(admin_session_revocations.c.expires_at < now()))


def admin_session_revoked(conn: sa.Connection, sid: str) -> bool:
    query = sa.select(admin_session_revocations.c.sid).where(admin_session_revocations.c.sid == sid)
    return conn.execute(query).first() is not None
