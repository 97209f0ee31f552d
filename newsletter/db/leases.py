"""Claiming queued rows under a lease: the mail outbox, the webhook deliveries and the
imports uploaded in the admin share it.

One ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` statement: on
PostgreSQL concurrent workers skip each other's rows; on SQLite the single statement is
atomic under the database's write lock. A claim is a lease: if its worker dies, the row
becomes claimable again when the lease runs out.

A queue's table has ``id``, ``status`` (an ``OutboxStatus``), ``next_attempt_at``,
``claimed_until`` and ``attempts``.
"""

from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.models import OutboxStatus


def claim(
    session: Session,
    model: Any,
    returning: Sequence[Any],
    *,
    limit: int,
    now: datetime,
    due_by: datetime,
    lease: timedelta,
    only: Sequence[Any] = (),
    held_back: ColumnElement[bool] | None = None,
) -> Sequence[Row]:
    """Take up to ``limit`` rows of ``model`` due by ``due_by`` (queued, or leased by a
    worker whose lease ran out by ``now``), oldest first, each leased until ``now +
    lease``; ``only`` narrows which rows may be taken. A row for which ``held_back``
    holds is taken as ``suppressed`` instead, for good (the worker skips it). Returns the
    ``returning`` columns."""
    claimable = or_(
        and_(model.status == OutboxStatus.QUEUED, model.next_attempt_at <= due_by),
        and_(model.status == OutboxStatus.SENDING, model.claimed_until < now),
    )
    # Materialised: PostgreSQL may otherwise run the locking subquery again for each row
    # it updates, each run skipping the rows just claimed, and the limit claims them all.
    due = (
        select(model.id)
        .where(claimable, *only)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return session.execute(
        update(model)
        .where(model.id.in_(select(due.c.id)), claimable)
        .values(
            status=_unless(held_back, OutboxStatus.SENDING, OutboxStatus.SUPPRESSED),
            claimed_until=_unless(held_back, now + lease, None),
            attempts=model.attempts + 1,
        )
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).all()


def _unless(held_back: ColumnElement[bool] | None, value: Any, otherwise: Any) -> Any:
    """``value``, or ``otherwise`` for a row held back."""
    return value if held_back is None else case((held_back, otherwise), else_=value)
