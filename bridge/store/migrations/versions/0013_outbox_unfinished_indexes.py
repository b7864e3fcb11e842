"""outbox: partial indexes over the unfinished rows only, so a claim's cost follows the backlog, not history

``ix_outbox_unfinished`` (id) lets a claim walk the unfinished rows in order and stop at its LIMIT;
``ix_outbox_unfinished_record`` (target_system, target_key, id) answers "is an earlier operation of this record
still unfinished?" with one probe. The older (target_system, target_key, id) index read every finished row of a
busy record first, so each claim got slower as one record's history grew (2,000 updates to one case).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('pending', 'retry', 'inflight')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_outbox_unfinished ON outbox (id) WHERE {UNFINISHED}")
    op.execute(
        f"CREATE INDEX ix_outbox_unfinished_record ON outbox (target_system, target_key, id) WHERE {UNFINISHED}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_outbox_unfinished_record")
    op.execute("DROP INDEX ix_outbox_unfinished")
