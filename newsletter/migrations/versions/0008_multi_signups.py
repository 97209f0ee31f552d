"""several newsletters per signup; one confirmation covering several subscriptions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:20:00.000000

A recorded signup names its newsletters in ``signup_request_newsletter`` instead of its
own ``newsletter_id`` (the waiting ones are moved there). A ``confirmation`` is one
confirmation email; ``confirmation_item`` lists the subscriptions (and rounds) its button
confirms. Confirm links sent before this revision name a subscription and keep working
without a confirmation row.

Downgrading gives each waiting signup one row per chosen newsletter again (copies of it
for all but the first), and drops the confirmations: links sent as confirmations stop
working (the reader can sign up again).
"""

import sqlalchemy as sa
from alembic import op

import newsletter.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The evidence columns a signup request keeps, copied as they are on a downgrade.
REQUEST_COLUMNS = ("email", "email_key", "ip", "user_agent", "source", "source_url", "received_at")

# The tables as the downgrade sees them, for its data steps (never the models of today).
signup_request = sa.table(
    "signup_request",
    sa.column("id", sa.Integer),
    sa.column("newsletter_id", sa.Integer),
    *(sa.column(name) for name in REQUEST_COLUMNS),
)
chosen = sa.table(
    "signup_request_newsletter",
    sa.column("signup_request_id", sa.Integer),
    sa.column("newsletter_id", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "signup_request_newsletter",
        sa.Column("signup_request_id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletter.id"],
            name=op.f("fk_signup_request_newsletter_newsletter_id_newsletter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signup_request_id"],
            ["signup_request.id"],
            name=op.f("fk_signup_request_newsletter_signup_request_id_signup_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "signup_request_id", "newsletter_id", name=op.f("pk_signup_request_newsletter")
        ),
    )
    with op.batch_alter_table("signup_request_newsletter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signup_request_newsletter_newsletter_id"), ["newsletter_id"]
        )
    op.execute(
        "INSERT INTO signup_request_newsletter (signup_request_id, newsletter_id) "
        "SELECT id, newsletter_id FROM signup_request"
    )
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.drop_constraint("fk_signup_request_newsletter_id_newsletter", type_="foreignkey")
        batch_op.drop_column("newsletter_id")
    op.create_table(
        "confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("created_at", newsletter.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["reader.id"],
            name=op.f("fk_confirmation_reader_id_reader"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation")),
        sa.UniqueConstraint("public_id", name=op.f("uq_confirmation_public_id")),
    )
    with op.batch_alter_table("confirmation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_confirmation_reader_id"), ["reader_id"])
    op.create_table(
        "confirmation_item",
        sa.Column("confirmation_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("confirmation_round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmation_id"],
            ["confirmation.id"],
            name=op.f("fk_confirmation_item_confirmation_id_confirmation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_confirmation_item_subscription_id_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "confirmation_id", "subscription_id", name=op.f("pk_confirmation_item")
        ),
    )
    with op.batch_alter_table("confirmation_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_confirmation_item_subscription_id"), ["subscription_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("confirmation_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_confirmation_item_subscription_id"))
    op.drop_table("confirmation_item")
    with op.batch_alter_table("confirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_confirmation_reader_id"))
    op.drop_table("confirmation")
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("newsletter_id", sa.Integer(), nullable=True))
    _one_request_per_newsletter()
    with op.batch_alter_table("signup_request", schema=None) as batch_op:
        batch_op.alter_column("newsletter_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_signup_request_newsletter_id_newsletter"),
            "newsletter",
            ["newsletter_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("signup_request_newsletter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_request_newsletter_newsletter_id"))
    op.drop_table("signup_request_newsletter")


def _one_request_per_newsletter() -> None:
    """Give each waiting signup its first newsletter, and a copy of it for each other one
    it names; a signup that names none (its newsletters were deleted) goes."""
    connection = op.get_bind()
    connection.execute(
        sa.update(signup_request).values(
            newsletter_id=sa.select(sa.func.min(chosen.c.newsletter_id))
            .where(chosen.c.signup_request_id == signup_request.c.id)
            .scalar_subquery()
        )
    )
    copied = [signup_request.c[name] for name in REQUEST_COLUMNS]
    connection.execute(
        sa.insert(signup_request).from_select(
            ["newsletter_id", *REQUEST_COLUMNS],
            sa.select(chosen.c.newsletter_id, *copied)
            .select_from(
                signup_request.join(chosen, chosen.c.signup_request_id == signup_request.c.id)
            )
            .where(chosen.c.newsletter_id != signup_request.c.newsletter_id)
            .order_by(signup_request.c.id, chosen.c.newsletter_id),
        )
    )
    connection.execute(sa.delete(signup_request).where(signup_request.c.newsletter_id.is_(None)))
