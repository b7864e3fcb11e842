"""flow state by due time: the desk clocks' ticks read only the records that are due

An expression index on (flow, the ``due`` field of the JSON state), spelt per dialect as
``bridge.store.schema.state_field_sql`` spells the queries' expression.

Revision ID: 0006
Revises: 0004
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _expression(dialect: str) -> str:
    if dialect == "postgresql":
        return "(state::json ->> 'due')"
    return "json_extract(state, '$.due')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_flow_state_due ON flow_state (flow, ({_expression(op.get_bind().dialect.name)}))")


def downgrade() -> None:
    op.execute("DROP INDEX ix_flow_state_due")
