"""outbox.after_key: an operation may wait for another record's earlier operations, not only its own

An account sync orders a child after its parent. Before, every operation of one account tree shared one
ordering key, so a tree's writes ran one at a time; with ``after_key`` each record keeps its own key (its own
order) and names the record it must follow (its parent), so independent records run, and batch, together.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("after_key", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("after_key")
