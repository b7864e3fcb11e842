"""Mapping document versions: the table every bridge process reads its mappings from (migration 0009).

A document's live version is its highest revision. Versions are only ever added: a save, a rollback, an import or
a changed file each add one (a rollback adds a copy of an earlier text), so the history is the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.store import Store, now
from bridge.store.inbox import insert_ignore
from bridge.store.schema import mapping_versions as mv
from bridge.store.schema import outbox


@dataclass(frozen=True)
class MappingVersion:
    name: str
    revision: int
    version: str
    content: str
    origin: str
    actor: str
    note: str
    diff: str
    restores: int | None
    created_at: float


@dataclass(frozen=True)
class NewVersion:
    name: str
    revision: int
    version: str
    content: str
    origin: str
    actor: str
    note: str
    diff: str
    restores: int | None = None


def current_revisions(conn: sa.Connection, names: Sequence[str]) -> dict[str, int]:
    """Each named document's live revision (absent: no version yet), from the (name, revision) key alone."""
    query = sa.select(mv.c.name, sa.func.max(mv.c.revision)).where(mv.c.name.in_(list(names))).group_by(mv.c.name)
    return {name: int(revision) for name, revision in conn.execute(query)}


def current(conn: sa.Connection, name: str) -> MappingVersion | None:
    """The live version of ``name``, or None before its first."""
    row = conn.execute(sa.select(mv).where(mv.c.name == name).order_by(mv.c.revision.desc()).limit(1)).first()
    return _version(row) if row else None


def get(conn: sa.Connection, name: str, revision: int) -> MappingVersion | None:
    row = conn.execute(sa.select(mv).where(mv.c.name == name, mv.c.revision == revision)).first()
    return _version(row) if row else None


def history(conn: sa.Connection, name: str, *, limit: int = 50, before: int | None = None) -> list[MappingVersion]:
    """Versions of ``name``, newest first, a keyset page at a time (``before``: older than this revision)."""
    query = sa.select(mv).where(mv.c.name == name).order_by(mv.c.revision.desc()).limit(limit)
    if before is not None:
        query = query.where(mv.c.revision < before)
    return [_version(row) for row in conn.execute(query)]


def has_version(conn: sa.Connection, name: str, version: str) -> bool:
    """Whether a text with this hash was ever a version of ``name``."""
    query = sa.select(mv.c.id).where(mv.c.name == name, mv.c.version == version).limit(1)
    return conn.execute(query).first() is not None


def revisions_with(conn: sa.Connection, name: str, version: str) -> list[int]:
    """The revisions of ``name`` whose text has the hash ``version`` (a rollback repeats an earlier one's)."""
    query = sa.select(mv.c.revision).where(mv.c.name == name, mv.c.version == version).order_by(mv.c.revision)
    return [int(r) for r in conn.execute(query).scalars()]


def add_version(conn: sa.Connection, store: Store, new: NewVersion) -> bool:
    """Add a version; False (nothing written) when that revision of the document exists already, i.e. another
    process or admin saved one since ``new.revision - 1`` was read."""
    values: dict[str, Any] = {**new.__dict__, "created_at": now()}
    stmt = insert_ignore(store, mv).values(**values).on_conflict_do_nothing(index_elements=["name", "revision"])
    return bool(conn.execute(stmt.returning(mv.c.id)).first())


def planned_with(version: str) -> sa.ColumnElement[bool]:
    """Outbox operations planned with the document version ``version``: recorded as it is, as an account sync's
    ``<run>@<version>``, or as a partner route's ``<options>:<version>``."""
    column = outbox.c.mapping_version
    return sa.or_(column == version, column.like(f"%@{version}"), column.like(f"%:{version}"))


def planned_counts(conn: sa.Connection, routes: Sequence[str], version: str) -> dict[str, tuple[int, int]]:
    """Per route: (events, operations) planned with ``version`` (from the route index of the outbox)."""
    query = (
        sa.select(outbox.c.route, sa.func.count(sa.distinct(outbox.c.event_id)), sa.func.count())
        .where(outbox.c.route.in_(list(routes)), planned_with(version))
        .group_by(outbox.c.route)
    )
    return {route: (int(events), int(ops)) for route, events, ops in conn.execute(query)}


def _version(row: Any) -> MappingVersion:
    return MappingVersion(
        name=row.name,
        revision=int(row.revision),
        version=row.version,
        content=row.content,
        origin=row.origin,
        actor=row.actor,
        note=row.note,
        diff=row.diff,
        restores=None if row.restores is None else int(row.restores),
        created_at=float(row.created_at),
    )
