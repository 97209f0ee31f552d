"""signup requests, applied by the worker

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signup_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_url", sa.String(length=2048), nullable=True),
        sa.Column("received_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletter.id"],
            name=op.f("fk_signup_request_newsletter_id_newsletter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_request")),
    )
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signup_request_newsletter_id_email_key",
            ["newsletter_id", "email_key"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.drop_index("ix_signup_request_newsletter_id_email_key")
    op.drop_table("signup_request")
