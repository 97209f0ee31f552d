"""readers: one per address, subscriptions hang on them; newsletters public and ordered

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:45:00.000000

Each distinct ``email_key`` of ``subscription`` becomes a reader, whose address is that
of the key's most recently created subscription (its latest spelling) and whose
``created_at`` is the key's first subscription's. The subscriptions then point at their
reader and lose their own copy of the address. Downgrading gives every subscription its
reader's address back.
"""

import secrets

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INSERT_BATCH = 1000

# The tables as this migration sees them, for its data steps (never the models of today).
subscription = sa.table(
    "subscription",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("reader_id", sa.Integer),
    sa.column("created_at", newsletter.db.types.UTCDateTime(timezone=True)),
)
reader = sa.table(
    "reader",
    sa.column("id", sa.Integer),
    sa.column("public_id", sa.String),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("created_at", newsletter.db.types.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "reader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader")),
        sa.UniqueConstraint("email_key", name=op.f("uq_reader_email_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_reader_public_id")),
    )
    _create_readers()
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reader_id", sa.Integer(), nullable=True))
    _link_subscriptions_to_readers()
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.alter_column("reader_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subscription_reader_id_reader"),
            "reader",
            ["reader_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint("uq_subscription_newsletter_id_email_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_subscription_newsletter_id_reader_id"), ["newsletter_id", "reader_id"]
        )
        batch_op.create_index(batch_op.f("ix_subscription_reader_id"), ["reader_id"])
        batch_op.drop_column("email_key")
        batch_op.drop_column("email")
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        # An erasure forgets a reader's pending signups to every newsletter at once.
        batch_op.drop_index("ix_signup_request_newsletter_id_email_key")
        batch_op.create_index(batch_op.f("ix_signup_request_email_key"), ["email_key"])
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("newsletter", schema=None) as batch_op:
        batch_op.drop_column("position")
        batch_op.drop_column("public")
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_request_email_key"))
        batch_op.create_index(
            "ix_signup_request_newsletter_id_email_key", ["newsletter_id", "email_key"]
        )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
    _copy_addresses_back()
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch_op.alter_column("email_key", existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_index(batch_op.f("ix_subscription_reader_id"))
        batch_op.drop_constraint("uq_subscription_newsletter_id_reader_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_subscription_newsletter_id_email_key"), ["newsletter_id", "email_key"]
        )
        batch_op.drop_constraint("fk_subscription_reader_id_reader", type_="foreignkey")
        batch_op.drop_column("reader_id")
    op.drop_table("reader")


def _create_readers() -> None:
    """A reader per distinct address key: its latest spelling, its first appearance.

    Read in creation order, so the last spelling seen of a key is its latest. The public
    ids are random, which no SQL both backends share can make.
    """
    connection = op.get_bind()
    first_seen: dict[str, object] = {}
    latest_spelling: dict[str, str] = {}
    rows = connection.execute(
        sa.select(
            subscription.c.email_key, subscription.c.email, subscription.c.created_at
        ).order_by(subscription.c.created_at, subscription.c.id)
    )
    for email_key, email, created_at in rows:
        first_seen.setdefault(email_key, created_at)
        latest_spelling[email_key] = email
    readers = [
        {
            "public_id": secrets.token_urlsafe(16),
            "email": email,
            "email_key": email_key,
            "created_at": first_seen[email_key],
        }
        for email_key, email in latest_spelling.items()
    ]
    for start in range(0, len(readers), INSERT_BATCH):
        connection.execute(sa.insert(reader), readers[start : start + INSERT_BATCH])


def _link_subscriptions_to_readers() -> None:
    """Point every subscription at the reader of its address key."""
    op.get_bind().execute(
        sa.update(subscription).values(
            reader_id=sa.select(reader.c.id)
            .where(reader.c.email_key == subscription.c.email_key)
            .scalar_subquery()
        )
    )


def _copy_addresses_back() -> None:
    """Give every subscription its reader's address again."""
    op.get_bind().execute(
        sa.update(subscription).values(
            email=_reader_column(reader.c.email), email_key=_reader_column(reader.c.email_key)
        )
    )


def _reader_column(column: sa.ColumnClause) -> sa.ScalarSelect:
    """The subscription's reader's value of ``column``, as a correlated subquery."""
    return sa.select(column).where(reader.c.id == subscription.c.reader_id).scalar_subquery()
