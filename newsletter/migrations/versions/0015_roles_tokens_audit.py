"""roles per newsletter, API tokens' scopes and expiry, the audit trail

Revision ID: 0015
Revises: 0010
Create Date: 2026-11-30 03:00:00.000000

Every editor from before roles becomes an owner (they could do everything), and every
token from before keeps every newsletter and expires 90 days after the upgrade.
"""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROLES = ("owner", "editor", "viewer")
TOKEN_LIFETIME = timedelta(days=90)

api_token = sa.table(
    "api_token", sa.column("expires_at", newsletter.db.types.UTCDateTime(timezone=True))
)


def _grant_table(name: str, owner_column: str, owner_table: str) -> None:
    """A table of (something, newsletter) pairs: the newsletters a role or token covers."""
    op.create_table(
        name,
        sa.Column(owner_column, sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [owner_column],
            [f"{owner_table}.id"],
            name=op.f(f"fk_{name}_{owner_column}_{owner_table}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletter.id"],
            name=op.f(f"fk_{name}_newsletter_id_newsletter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(owner_column, "newsletter_id", name=op.f(f"pk_{name}")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_newsletter_id"), ["newsletter_id"])


def upgrade() -> None:
    allowed = ", ".join(f"'{role}'" for role in ROLES)
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="owner", nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_editor_role"), f"role IN ({allowed})")
    _grant_table("editor_newsletter", "editor_id", "editor")

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(api_token.update().values(expires_at=datetime.now(UTC) + TOKEN_LIFETIME))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at",
            existing_type=newsletter.db.types.UTCDateTime(timezone=True),
            nullable=False,
        )
    _grant_table("api_token_newsletter", "api_token_id", "api_token")

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=400), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("newsletter", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_occurred_at"), ["occurred_at"])
        batch_op.create_index("ix_audit_entry_actor_id", ["actor", "id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_actor_id")
        batch_op.drop_index(batch_op.f("ix_audit_entry_occurred_at"))
    op.drop_table("audit_entry")
    for name in ("api_token_newsletter", "editor_newsletter"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_newsletter_id"))
        op.drop_table(name)
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("editor", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_editor_role"), type_="check")
        batch_op.drop_column("role")
