"""The signup-wave alert: when a newsletter's signups in the last hour pass a multiple of
its usual hourly rate, its editors get one email, through the outbox, per wave.

Bots filling in a form are the usual cause, and the confirmation emails they trigger to
strangers' addresses are what gets a sender's mail account suspended. The usual rate is
the newsletter's new subscriptions per hour over the week before the last hour; a
threshold floor (``SIGNUP_WAVE_MIN_SIGNUPS``) keeps a quiet newsletter's ten signups from
an article that did well from counting as a wave.

A wave is a :class:`SignupWave` row: made (and the editors mailed) when the rate passes the
threshold, deleted when a later check finds it below. Workers check the newsletters of
the signups they just applied, in the same transaction; the row's unique newsletter makes
one of two workers checking at once the one that mails.
"""

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import ForeignKey
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from newsletter import editors
from newsletter.db.base import Base
from newsletter.db.sql import insert_unless_exists
from newsletter.db.types import UTCDateTime
from newsletter.db.types import utcnow
from newsletter.mail import messages
from newsletter.mail import outbox
from newsletter.models import Newsletter
from newsletter.models import Subscription

HOUR = timedelta(hours=1)
BASELINE = timedelta(days=7)


class SignupWave(Base):
    """A newsletter's signup wave in progress, whose editors were told when it began."""

    __tablename__ = "signup_wave"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), unique=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signups_in_hour: Mapped[int]


def check(session: Session, newsletters: list[Newsletter], now: datetime | None = None) -> None:
    """Start (and tell the editors of) or end each newsletter's wave, as its signups say."""
    now = now or utcnow()
    multiple = float(current_app.config["SIGNUP_WAVE_MULTIPLE"])
    floor = int(current_app.config["SIGNUP_WAVE_MIN_SIGNUPS"])
    for newsletter in newsletters:
        recent, before = _signups(session, newsletter, now)
        usual = before / (BASELINE / HOUR)
        if recent >= max(floor, multiple * usual):
            _start(session, newsletter, recent, usual, now)
        else:
            session.execute(delete(SignupWave).where(SignupWave.newsletter_id == newsletter.id))


def _start(
    session: Session, newsletter: Newsletter, recent: int, usual: float, now: datetime
) -> None:
    """Record the wave; the first to record it mails every enabled editor."""
    started = insert_unless_exists(
        session,
        SignupWave,
        ["newsletter_id"],
        newsletter_id=newsletter.id,
        started_at=now,
        signups_in_hour=recent,
    )
    if not started:
        return
    for editor in editors.all_editors(session):
        if editor.disabled_at is None:
            outbox.enqueue(
                session, messages.signup_wave(editor.email, newsletter, recent, usual), None
            )


def _signups(session: Session, newsletter: Newsletter, now: datetime) -> tuple[int, int]:
    """New subscriptions to the newsletter in the hour up to ``now``, and in the week
    before that hour: one pass over the index, not one query each."""
    in_hour = Subscription.created_at > now - HOUR
    query = select(func.count().filter(in_hour), func.count().filter(~in_hour)).where(
        Subscription.newsletter_id == newsletter.id,
        Subscription.created_at > now - HOUR - BASELINE,
        Subscription.created_at <= now,
    )
    recent, before = session.execute(query).one()
    return recent, before
