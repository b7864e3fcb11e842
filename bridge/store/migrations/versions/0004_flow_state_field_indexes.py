"""flow state by status and by breach time: the admin page's partner response view on a large store

Expression indexes on (flow, one top-level field of the JSON state), spelt per dialect exactly as
``bridge.store.schema.state_field_sql`` spells the queries' expressions (an expression index serves only a
query that repeats its expression).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FIELDS = ("status", "breached")


def _expression(name: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"(state::json ->> '{name}')"
    return f"json_extract(state, '$.{name}')"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in FIELDS:
        op.execute(f"CREATE INDEX ix_flow_state_{name} ON flow_state (flow, ({_expression(name, dialect)}))")


def downgrade() -> None:
    for name in FIELDS:
        op.execute(f"DROP INDEX ix_flow_state_{name}")
