"""editor session version and disabling

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("disabled_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("session_version")
