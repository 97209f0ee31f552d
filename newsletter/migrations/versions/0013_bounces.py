"""bounces and complaints: a subscription's complaint flag and soft-bounce count, the
reports already applied (so a replayed one changes nothing), and a ``suppressed`` outbox
status for mail the worker would not send

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 02:30:00.000000

The outbox statuses are a VARCHAR with a CHECK constraint (``models._string_enum``): the
constraint is replaced by one that allows the new value, as 0009 did for ``bounced``.
Downgrading turns suppressed messages into failed ones, the nearest status never sent.
"""

import sqlalchemy as sa
from alembic import op

from newsletter.db.types import UTCDateTime

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_outbox_message_outboxstatus"
BEFORE = ("queued", "sending", "sent", "failed")
AFTER = (*BEFORE, "suppressed")


def upgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complained_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("soft_bounces", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "bounce_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_report")),
        sa.UniqueConstraint("source", "report_id", name=op.f("uq_bounce_report_source_report_id")),
    )
    op.create_index(
        op.f("ix_bounce_report_received_at"), "bounce_report", ["received_at"], unique=False
    )
    _allow(AFTER)


def downgrade() -> None:
    messages = sa.table("outbox_message", sa.column("status", sa.String))
    op.execute(messages.update().where(messages.c.status == "suppressed").values(status="failed"))
    _allow(BEFORE)
    op.drop_index(op.f("ix_bounce_report_received_at"), table_name="bounce_report")
    op.drop_table("bounce_report")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("soft_bounces")
        batch_op.drop_column("complained_at")


def _allow(statuses: tuple[str, ...]) -> None:
    """Replace the outbox's status constraint by one allowing exactly ``statuses``."""
    allowed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), f"status IN ({allowed})")
