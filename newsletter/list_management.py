"""What editors do with a newsletter's subscribers: find, page, help, erase, purge; and
with readers, the people behind the subscriptions.

The reader-facing lifecycle lives in :mod:`newsletter.subscriptions`; this module adds
what only an editor may do, and the queries behind the admin pages.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy import delete
from sqlalchemy import distinct
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session
from sqlalchemy.orm import contains_eager

from newsletter import addresses
from newsletter import manage_link_requests
from newsletter import signup_requests
from newsletter import subscriptions
from newsletter.db.sql import UtcDay
from newsletter.db.types import utcnow
from newsletter.models import Erasure
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions import Evidence
from newsletter.webhooks import events as webhook_events

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 200
PUBLIC_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Page:
    """One page of subscribers, newest first, and the cursor of the next page (or None)."""

    subscriptions: list[Subscription]
    next_before: int | None


def page(
    session: Session,
    newsletter: Newsletter,
    *,
    status: SubscriptionStatus | None = None,
    complained: bool = False,
    query: str = "",
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Keyset paging (``id < before``): as fast on page 1000 as on page 1. ``complained``
    keeps the readers who marked our mail as spam."""
    statement = (
        select(Subscription)
        .join(Subscription.reader)
        .options(contains_eager(Subscription.reader))
        .where(Subscription.newsletter_id == newsletter.id)
    )
    if status is not None:
        statement = statement.where(Subscription.status == status)
    if complained:
        statement = statement.where(Subscription.complained_at.is_not(None))
    # Typed by an editor, but a URL may carry anything: PostgreSQL refuses NUL in text.
    query = "".join(char for char in query if char.isprintable()).strip()
    if query:
        needle = _escape_like(addresses.key(query[:MAX_QUERY_LENGTH]))
        statement = statement.where(Reader.email_key.like(f"%{needle}%", escape="\\"))
    if before is not None:
        statement = statement.where(Subscription.id < before)
    rows = list(session.scalars(statement.order_by(Subscription.id.desc()).limit(size + 1)))
    more = len(rows) > size
    return Page(rows[:size], rows[size - 1].id if more else None)


def get(session: Session, newsletter: Newsletter, public_id: str) -> Subscription | None:
    """One subscriber of this newsletter, by the opaque id used in admin URLs."""
    if not PUBLIC_ID_PATTERN.fullmatch(public_id):
        return None  # no such id can exist; and no query with whatever a URL carried
    return session.scalars(
        select(Subscription).where(
            Subscription.newsletter_id == newsletter.id, Subscription.public_id == public_id
        )
    ).one_or_none()


def history(session: Session, subscription: Subscription) -> list[SubscriptionEvent]:
    """The subscription's events, oldest first: the proof of consent and what followed."""
    return list(
        session.scalars(
            select(SubscriptionEvent)
            .where(SubscriptionEvent.subscription_id == subscription.id)
            .order_by(SubscriptionEvent.id)
        )
    )


def resend_confirmation(session: Session, subscription: Subscription, editor: str) -> bool:
    """Queue the confirmation again for a pending reader an editor is helping."""
    if subscription.status is not SubscriptionStatus.PENDING:
        return False
    subscriptions.record_event(
        session, subscription, EventKind.CONFIRMATION_RESENT, Evidence(), f"by editor {editor}"
    )
    subscriptions.queue_confirmation(session, [subscription])
    return True


def unsubscribe(session: Session, subscription: Subscription, editor: str) -> bool:
    """Unsubscribe a reader at their request, by an editor's hand; False if they were, or
    if their address bounced: it is sent nothing already, and the bounce, the stronger
    fact, stays until the reader signs up again."""
    if subscription.status is SubscriptionStatus.BOUNCED:
        return False
    return subscriptions.end(session, subscription, Evidence(), f"by editor {editor}")


def erase(session: Session, reader: Reader) -> None:
    """Right to erasure: the reader and everything of theirs, in every newsletter, go: the
    address, each subscription's evidence, history and mail, their pending signups and
    manage-link requests.

    A tombstone per subscription, with only its newsletter and status, keeps the counts
    honest, and each newsletter's webhooks are told, without the address.
    """
    for subscription in reader_subscriptions(session, reader):
        session.add(Erasure(newsletter_id=subscription.newsletter_id, status=subscription.status))
        webhook_events.queue_erasure(session, subscription)
    # A signup not yet applied would bring the address back.
    signup_requests.forget(session, reader.email_key)
    manage_link_requests.forget(session, reader.email_key)
    # The database cascades to the subscriptions, their events and their outbox rows.
    session.delete(reader)
    session.flush()


def reader_subscriptions(session: Session, reader: Reader) -> list[Subscription]:
    """Every subscription of the reader, with its newsletter, in the newsletters' order."""
    return list(
        session.scalars(
            select(Subscription)
            .join(Subscription.newsletter)
            .options(contains_eager(Subscription.newsletter))
            .where(Subscription.reader_id == reader.id)
            .order_by(Newsletter.position, Newsletter.name)
        )
    )


def readers_count(session: Session) -> int:
    """How many people have at least one subscription, in any newsletter."""
    return session.scalar(select(func.count(distinct(Subscription.reader_id)))) or 0


def purge_pending(session: Session, older_than: timedelta) -> int:
    """Delete signups never confirmed within ``older_than`` (data minimisation), and the
    readers left with no subscription at all."""
    # A DELETE's result is a CursorResult, which has the row count.
    result = cast(
        CursorResult,
        session.execute(
            delete(Subscription).where(
                Subscription.status == SubscriptionStatus.PENDING,
                Subscription.signup_at < utcnow() - older_than,
            )
        ),
    )
    session.execute(delete(Reader).where(~exists().where(Subscription.reader_id == Reader.id)))
    return result.rowcount


def counts(session: Session, newsletter: Newsletter) -> dict[str, int]:
    """How many subscriptions in each status, and how many were erased."""
    by_status = dict.fromkeys((status.value for status in SubscriptionStatus), 0)
    rows = session.execute(
        select(Subscription.status, func.count())
        .where(Subscription.newsletter_id == newsletter.id)
        .group_by(Subscription.status)
    )
    by_status.update({status.value: total for status, total in rows})
    by_status["erased"] = (
        session.scalar(
            select(func.count()).select_from(Erasure).where(Erasure.newsletter_id == newsletter.id)
        )
        or 0
    )
    return by_status


def subscription_count(
    session: Session, covered: Iterable[Newsletter], status: SubscriptionStatus | None
) -> int:
    """How many subscriptions the newsletters ``covered`` have (in ``status``, or in all):
    the rows of their export. One count, however many newsletters."""
    statement = (
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.newsletter_id.in_([newsletter.id for newsletter in covered]))
    )
    if status is not None:
        statement = statement.where(Subscription.status == status)
    return session.scalar(statement) or 0


@dataclass(frozen=True)
class DayActivity:
    """One UTC day of a newsletter's chart: new signups and confirmations."""

    day: date
    signups: int
    confirmations: int


def daily_activity(
    session: Session, newsletter: Newsletter, days: int, today: date | None = None
) -> list[DayActivity]:
    """Signups and confirmations per UTC day over the last ``days`` days, oldest first.

    Every day is there, quiet ones with zeros. A signup counts on the day the
    subscription was first created; a confirmation on the day of its latest confirmation.
    """
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    signups = _per_day(session, newsletter, Subscription.created_at, since)
    confirmations = _per_day(session, newsletter, Subscription.confirmed_at, since)
    every_day = (first + timedelta(days=offset) for offset in range(days))
    return [DayActivity(day, signups.get(day, 0), confirmations.get(day, 0)) for day in every_day]


def _per_day(
    session: Session, newsletter: Newsletter, column: InstrumentedAttribute, since: datetime
) -> dict[date, int]:
    """How many of the newsletter's subscriptions have ``column`` on each UTC day."""
    day = UtcDay(column).label("day")
    rows = session.execute(
        select(day, func.count())
        .where(Subscription.newsletter_id == newsletter.id, column >= since)
        .group_by(day)
    )
    return {date.fromisoformat(text): total for text, total in rows}


def _escape_like(text: str) -> str:
    """Make LIKE's wildcards literal in a search term."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
