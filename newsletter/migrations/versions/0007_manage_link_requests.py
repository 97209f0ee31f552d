"""manage-link requests, answered by the worker

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manage_link_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("received_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manage_link_request")),
    )
    with op.batch_alter_table("manage_link_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manage_link_request_email_key"), ["email_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("manage_link_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manage_link_request_email_key"))
    op.drop_table("manage_link_request")
