"""The durable store: one SQLAlchemy engine, SQLite (WAL) for one process or PostgreSQL for several.

Nothing is built at import time: :func:`open_store` makes the engine when the daemon or a command needs it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy import event

from bridge.errors import StoreUnreachable
from bridge.store import migrate

#: a transaction's connection, as the layers above the store hold and pass one (they never import SQLAlchemy)
Connection: TypeAlias = sa.Connection


class Store:
    """The engine plus the few dialect differences (SQLite vs PostgreSQL) the rest of the code must not see."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def dry_run(self) -> Iterator[sa.Connection]:
        """A transaction that is always rolled back: a dry run does what a real one does, then keeps nothing."""
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def upgrade(self) -> tuple[str | None, str]:
        self.reach()
        return migrate.upgrade(self.engine)

    def migration_status(self) -> str:
        self.reach()
        return migrate.status(self.engine)

    def revision(self) -> str | None:
        """The migration the store is at (None: an empty store)."""
        self.reach()
        return migrate.current_revision(self.engine)

    @property
    def where(self) -> str:
        """The database URL with its password masked, for messages and the start-up line."""
        return masked_url(self.engine.url)

    def reach(self) -> None:
        """Connect once, turning "cannot connect" (refused, unknown host, bad password, an unopenable file) into
        StoreUnreachable, a one-line reason a command can print. Only the connecting is judged: an error in
        what is done afterwards (a failing migration) stays what it is."""
        try:
            with self.engine.connect():
                pass
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreUnreachable(self.where, _reason(exc)) from exc

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    @contextmanager
    def singleton(self, name: str) -> Iterator[bool]:
        """Hold a cluster-wide lock for a singleton job (a poller); yields False if another process has it.

        PostgreSQL: a session advisory lock, released when the connection ends (even on kill -9).
        SQLite: one process owns the file, so the lock is always ours.
        """
        if not self.is_postgres:
            yield True
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def masked_url(url: str | sa.URL) -> str:
    """A database URL as it may be shown: the password replaced by ``***``."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable database URL)"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for another database or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's first line, without SQLAlchemy's statement and link (libpq adds a hint line)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc.orig or exc).__name__


def make_engine(url: str, *, pool_size: int = 10) -> sa.Engine:
    """Create the engine with the settings each backend needs for durability and concurrency."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a host that drops packets answers nothing: give up connecting after 10 s instead of the OS's minutes
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args={"connect_timeout": 10}
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; NORMAL is durable across process crashes (kill -9) in WAL mode.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str, *, pool_size: int = 10) -> Store:
    return Store(make_engine(url, pool_size=pool_size))


def now() -> float:
    return time.time()


def dumps(value: Any) -> str:
    """JSON for the store: compact, stable key order, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def inbox_depth(conn: sa.Connection) -> dict[str, int]:
    from bridge.store.schema import inbox

    rows = conn.execute(sa.select(inbox.c.status, sa.func.count()).group_by(inbox.c.status))
    return {status: int(count) for status, count in rows}
