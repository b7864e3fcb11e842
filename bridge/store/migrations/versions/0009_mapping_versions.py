"""mapping_versions: every version of every mapping document admins edit, shared by every bridge process

Each row is one version of one document (a field map, the Azure mapping, a partner directory): its text, who made
it, when, why (a note), where it came from (a file, an edit on the admin page, a rollback, an import) and the
diff from the version before. A document's current version is its highest revision; (name, revision) is unique,
so two processes (or two admins) saving at once cannot both make the same revision.

Revision ID: 0009
Revises: 0007 (0008 is another branch's number; the lead chains them when merging)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mapping_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("restores", sa.Integer, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "revision", name="uq_mapping_versions_revision"),
    )
    op.create_index("ix_mapping_versions_version", "mapping_versions", ["name", "version"])


def downgrade() -> None:
    op.drop_index("ix_mapping_versions_version", "mapping_versions")
    op.drop_table("mapping_versions")
