"""lookup indexes: links by either id (admin lookup), outbox by event, inbox by route for replay

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_links_id_a", "links", ["id_a"])
    op.create_index("ix_links_id_b", "links", ["id_b"])
    op.create_index("ix_outbox_event", "outbox", ["event_id"])
    op.create_index("ix_inbox_route_id", "inbox", ["route", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_route_id", "inbox")
    op.drop_index("ix_outbox_event", "outbox")
    op.drop_index("ix_links_id_b", "links")
    op.drop_index("ix_links_id_a", "links")
