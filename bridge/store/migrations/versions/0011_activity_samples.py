"""activity_samples: what the admin overview's 24-hour charts draw; time indexes for counting its slots

One row per route per five-minute slot: the queue depth seen when the slot was first sampled (inbox events
pending, operations pending, retrying or in flight), and, once the slot is over, the deliveries, retries and
dead letters that happened in it. The counts are taken once per slot by the sampler job (bridge/ops/activity.py)
through the new indexes on outbox_attempts.at and dead_letters.created_at, so a page view reads at most a day of
slots (the primary key's range), never the history.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_samples",
        sa.Column("slot", sa.Float, primary_key=True),
        sa.Column("route", sa.String(64), primary_key=True),
        sa.Column("queued", sa.Integer, nullable=True),
        sa.Column("delivered", sa.Integer, nullable=True),
        sa.Column("retried", sa.Integer, nullable=True),
        sa.Column("dead", sa.Integer, nullable=True),
    )
    op.create_index("ix_outbox_attempts_at", "outbox_attempts", ["at"])
    op.create_index("ix_dead_letters_created", "dead_letters", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_created", "dead_letters")
    op.drop_index("ix_outbox_attempts_at", "outbox_attempts")
    op.drop_table("activity_samples")
