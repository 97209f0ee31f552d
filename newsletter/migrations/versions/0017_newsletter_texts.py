"""newsletters' names and descriptions per language

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 06:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: every newsletter from before is named as it was, in every language.
    op.create_table(
        "newsletter_text",
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletter.id"],
            name=op.f("fk_newsletter_text_newsletter_id_newsletter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("newsletter_id", "language", name=op.f("pk_newsletter_text")),
    )


def downgrade() -> None:
    # The texts go with it: a newsletter keeps its own name and description.
    op.drop_table("newsletter_text")
