"""admin session revocations: a logged-out session stays ended after a restart and in every process

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_session_revocations",
        sa.Column("sid", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_admin_session_revocations_expiry", "admin_session_revocations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_session_revocations_expiry", "admin_session_revocations")
    op.drop_table("admin_session_revocations")
