"""outbox by result id: threading an email reply to its case by the Message-ID the bridge sent

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_result", "outbox", ["result_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_result", "outbox")
