"""a subscription (and an erased one's tombstone) may be ``bounced``

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 00:20:00.000000

The statuses are a VARCHAR with a CHECK constraint (``models._string_enum``): the
constraint is replaced by one that allows the new value. Downgrading turns bounced
subscriptions into unsubscribed ones, the nearest status that is never mailed either.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CONSTRAINT = "subscriptionstatus"
TABLES = ("subscription", "erasure")
BEFORE = ("pending", "confirmed", "unsubscribed")
AFTER = (*BEFORE, "bounced")


def upgrade() -> None:
    for table in TABLES:
        _allow(table, AFTER)


def downgrade() -> None:
    for table in TABLES:
        statuses = sa.table(table, sa.column("status", sa.String))
        op.execute(
            statuses.update().where(statuses.c.status == "bounced").values(status="unsubscribed")
        )
        _allow(table, BEFORE)


def _allow(table: str, statuses: tuple[str, ...]) -> None:
    """Replace the table's status constraint by one allowing exactly ``statuses``."""
    allowed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{CONSTRAINT}"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_{CONSTRAINT}"), f"status IN ({allowed})")
