"""Alembic migrations driven from code: `bridge db upgrade`, and the check `bridge run` makes before start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply pending migrations; return (revision before, revision after)."""
    before = current_revision(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # several daemons may start at once: one migrates, the others wait and then find nothing to do
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7346598212)"))
        command.upgrade(_alembic_config(conn), revision)
    return before, head_revision()


def status(engine: sa.Engine) -> str:
    """'current', 'behind' (pending migrations) or 'unknown' (a revision this code does not know: newer)."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return "current"
    known = {rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    if current is None or current in known:
        return "behind"
    return "unknown"
