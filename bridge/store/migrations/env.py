"""Alembic environment: the connection is handed in by bridge.store.migrate (no alembic.ini needed)."""

from alembic import context

from bridge.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `bridge db upgrade`, which passes the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
