"""outbox.report: an operation whose outcome (done or dead) comes back to its route as an inbox event

The e-bonding flow learns this way that a raise created the partner's ticket (our case then waits) or was
dead-lettered (a work note says why); retrying the dead letter brings the outcome again (CPSD 7.1).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("report", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("report")
