"""branding: a newsletter's accent colour and logo URL

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: the service's colour and no logo, as every newsletter had before.
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accent_color", sa.String(length=7), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("logo_url", sa.String(length=2048), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.drop_column("logo_url")
        batch_op.drop_column("accent_color")
