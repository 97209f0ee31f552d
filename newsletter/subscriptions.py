"""The subscription lifecycle: subscribe, unsubscribe. No Flask request in here.

Confirming, through the link of a confirmation email, is ``newsletter.confirmations``.

Functions take the caller's session and never commit: the request (or command) commits,
and with it the outbox messages these functions queue. Policy comes from the app's
configuration (an app context is enough).

The answer to a signup never depends on the address's state, so nothing here returns
whether an address was known; nor does its duration, because the web request only records
the signup and the worker calls :func:`subscribe` (``newsletter.signup_requests``). What
happens when it does:

=============  ==========================================================
state          on signup
=============  ==========================================================
(none)         pending; confirmation queued
pending        confirmation queued again, at most once per resend interval
confirmed      nothing (a confirmed reader stays confirmed)
unsubscribed   pending again, in a new round; confirmation queued
bounced        pending again, in a new round; confirmation queued
=============  ==========================================================

A bounced address gets no mail until the reader signs up again (SPEC, "Deliverability"):
the mailbox may work again, and the double opt-in decides, as for a reader who left.
Until then nothing is sent to it; nor to a reader who complained (``newsletter.bounces``).

A signup to several newsletters (:func:`subscribe_to_all`) does this per newsletter, and
the confirmations it queues go out as one email.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import link_tokens
from newsletter.db.sql import insert_unless_exists
from newsletter.db.types import utcnow
from newsletter.mail import messages
from newsletter.mail import outbox
from newsletter.models import URL_LENGTH
from newsletter.models import USER_AGENT_LENGTH
from newsletter.models import Confirmation
from newsletter.models import ConfirmationItem
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from newsletter.models import new_public_id
from newsletter.refusals import Refusal
from newsletter.webhooks import events as webhook_events

# Built once. Events are only ever appended and read by other requests, so they go in
# with a plain INSERT instead of through the session's unit of work.
INSERT_EVENT = insert(SubscriptionEvent.__table__)
INSERT_CONFIRMATION = insert(Confirmation.__table__).returning(Confirmation.__table__.c.id)
INSERT_CONFIRMATION_ITEM = insert(ConfirmationItem.__table__)


@dataclass(frozen=True)
class Evidence:
    """Who did something, as the server saw it: the proof of consent we keep."""

    ip: str | None = None
    user_agent: str | None = None
    source: str = "web"
    source_url: str | None = None
    # The language the reader signed up in: their emails are in it.
    language: str = "en"

    def __post_init__(self) -> None:
        # Browser-supplied text: cut to the column and rid of control characters
        # (PostgreSQL refuses NUL in text; nobody needs the rest).
        object.__setattr__(self, "user_agent", _printable(self.user_agent, USER_AGENT_LENGTH))
        object.__setattr__(self, "source_url", _printable(self.source_url, URL_LENGTH))


class LinkState(enum.StrEnum):
    """What a confirm or unsubscribe link leads to, for the page that answers it."""

    READY = "ready"  # the action is there to be taken
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    SUPERSEDED = "superseded"  # an older round's confirm link; a newer one was sent
    EXPIRED = "expired"


class InvalidLink(Refusal, LookupError):
    """The token is not ours, or its subscription no longer exists."""

    reason = "invalid_link"


@dataclass(frozen=True)
class Link:
    """A subscription reached through a link, and the state the link finds it in."""

    subscription: Subscription
    state: LinkState


def subscribe(
    session: Session,
    newsletter: Newsletter,
    email: str,
    evidence: Evidence,
    at: datetime | None = None,
) -> None:
    """Sign ``email`` (already normalised) up to ``newsletter``: see the module's table."""
    subscribe_to_all(session, [newsletter], email, evidence, at)


def subscribe_to_all(
    session: Session,
    chosen: Sequence[Newsletter],
    email: str,
    evidence: Evidence,
    at: datetime | None = None,
) -> None:
    """Sign ``email`` (already normalised) up to each of ``chosen`` (in the listing
    order), as the module's table says, with one confirmation email for all of those
    that need one (``newsletter.confirmations``).

    ``at`` is when the reader signed up (default: now); the evidence keeps that time even
    when the signup is applied later (see ``newsletter.signup_requests``).

    Safe under concurrency: each insert (the reader's, then the subscriptions') ignores a
    conflict on its unique key, and each subscription is then read under a lock, taken in
    the listing order by every signup, so simultaneous signups of one address make one
    reader, one subscription per newsletter, and at most one confirmation each.
    """
    now = at or utcnow()
    reader = find_or_create_reader(session, email, at=now)
    to_confirm = []
    for newsletter in chosen:
        subscription = made_and_locked(session, newsletter, reader, evidence, now)
        if subscription.status.opted_out:
            start_new_round(subscription, evidence, now)
        if subscription.status is SubscriptionStatus.PENDING and may_send_confirmation(
            subscription
        ):
            subscription.language = evidence.language
            record_event(
                session, subscription, EventKind.SIGNUP, evidence, evidence.source_url, at=now
            )
            to_confirm.append(subscription)
    if to_confirm:
        queue_confirmation(session, to_confirm)


def made_and_locked(
    session: Session, newsletter: Newsletter, reader: Reader, evidence: Evidence, at: datetime
) -> Subscription:
    """The reader's subscription to the newsletter, made if new (with this evidence),
    locked for the caller."""
    insert_unless_exists(
        session,
        Subscription,
        ["newsletter_id", "reader_id"],
        newsletter_id=newsletter.id,
        reader_id=reader.id,
        created_at=at,
        signup_at=at,
        signup_ip=evidence.ip,
        signup_user_agent=evidence.user_agent,
        source=evidence.source,
        source_url=evidence.source_url,
        language=evidence.language,
    )
    return session.scalars(_for_update(newsletter, reader)).one()


def locked(session: Session, newsletter: Newsletter, reader: Reader) -> Subscription | None:
    """The reader's subscription to the newsletter, locked for the caller; None if none."""
    return session.scalars(_for_update(newsletter, reader)).one_or_none()


def _for_update(newsletter: Newsletter, reader: Reader) -> Select[Subscription]:
    """The query for the reader's subscription to the newsletter, locking it."""
    return (
        select(Subscription)
        .where(Subscription.newsletter_id == newsletter.id, Subscription.reader_id == reader.id)
        .with_for_update()
    )


def find_or_create_reader(session: Session, email: str, at: datetime | None = None) -> Reader:
    """The reader of ``email`` (already normalised), made on their first signup.

    A reader keeps the spelling of the address they first signed up with.
    """
    key = addresses.key(email)
    insert_unless_exists(
        session, Reader, ["email_key"], email=email, email_key=key, created_at=at or utcnow()
    )
    return session.scalars(select(Reader).where(Reader.email_key == key)).one()


def mark_confirmed(
    session: Session, subscription: Subscription, evidence: Evidence, detail: str | None = None
) -> None:
    """Confirm with this evidence, record it in the history, and queue the welcome email."""
    subscription.status = SubscriptionStatus.CONFIRMED
    subscription.confirmed_at = utcnow()
    subscription.confirmed_ip = evidence.ip
    subscription.confirmed_user_agent = evidence.user_agent
    record_event(session, subscription, EventKind.CONFIRMED, evidence, detail)
    outbox.enqueue(session, messages.welcome(subscription), subscription)


def inspect_unsubscribe_link(session: Session, token: str) -> Link:
    """What ``GET /unsubscribe/<token>`` shows; changes nothing."""
    subscription = _by_public_id(session, _read_unsubscribe_token(token))
    return Link(subscription, _unsubscribe_state(subscription))


def unsubscribe(session: Session, token: str, evidence: Evidence, channel: str) -> Link:
    """Unsubscribe (a pending signup is cancelled the same way); a repeat is harmless."""
    subscription = _by_public_id(session, _read_unsubscribe_token(token), lock=True)
    end(session, subscription, evidence, channel)
    return Link(subscription, LinkState.UNSUBSCRIBED)


def end(session: Session, subscription: Subscription, evidence: Evidence, channel: str) -> bool:
    """Move a subscription to unsubscribed, recording how; False if it was there already."""
    if _unsubscribe_state(subscription) is not LinkState.READY:
        return False
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    subscription.unsubscribed_at = utcnow()
    record_event(session, subscription, EventKind.UNSUBSCRIBED, evidence, channel)
    return True


def start_new_round(subscription: Subscription, evidence: Evidence, at: datetime) -> None:
    """A former subscriber signs up again: a new double opt-in with fresh evidence."""
    subscription.status = SubscriptionStatus.PENDING
    subscription.confirmation_round += 1
    subscription.confirmation_sent_at = None
    subscription.confirmed_at = None
    subscription.confirmed_ip = None
    subscription.confirmed_user_agent = None
    subscription.unsubscribed_at = None
    # Signing up again lifts a bounce's or a complaint's suppression (SPEC, "Deliverability").
    subscription.complained_at = None
    subscription.soft_bounces = 0
    subscription.signup_at = at
    subscription.signup_ip = evidence.ip
    subscription.signup_user_agent = evidence.user_agent
    subscription.source = evidence.source
    subscription.source_url = evidence.source_url


def may_send_confirmation(subscription: Subscription) -> bool:
    """The per-address throttle: the form must not be a way to flood someone's inbox."""
    last = subscription.confirmation_sent_at
    interval = timedelta(seconds=current_app.config["CONFIRMATION_RESEND_INTERVAL"])
    return last is None or utcnow() - last >= interval


def queue_confirmation(session: Session, covered: list[Subscription]) -> None:
    """Queue one confirmation email for these pending subscriptions of one reader (in
    the order the email lists them), in the caller's transaction; each counts as sent
    now for its resend throttle. Its link names a new confirmation covering each in its
    current round (``newsletter.confirmations``)."""
    now = utcnow()
    public_id = new_public_id()
    confirmation_id = session.execute(
        INSERT_CONFIRMATION,
        {"public_id": public_id, "reader_id": covered[0].reader_id, "created_at": now},
    ).scalar_one()
    session.execute(
        INSERT_CONFIRMATION_ITEM,
        [
            {
                "confirmation_id": confirmation_id,
                "subscription_id": subscription.id,
                "confirmation_round": subscription.confirmation_round,
                "position": position,
            }
            for position, subscription in enumerate(covered)
        ],
    )
    for subscription in covered:
        subscription.confirmation_sent_at = now
    outbox.enqueue(session, messages.confirmation(covered, public_id), covered[0])


def _unsubscribe_state(subscription: Subscription) -> LinkState:
    """An unsubscribe link is ready until the subscription is unsubscribed."""
    if subscription.status is SubscriptionStatus.UNSUBSCRIBED:
        return LinkState.UNSUBSCRIBED
    return LinkState.READY


def _read_unsubscribe_token(token: str) -> str:
    """The ``public_id`` an unsubscribe token names, or :class:`InvalidLink`."""
    try:
        return link_tokens.read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    except link_tokens.InvalidToken as error:
        raise InvalidLink from error


def _by_public_id(session: Session, public_id: str, *, lock: bool = False) -> Subscription:
    """The subscription a link names; locked when the caller is about to change it."""
    query = select(Subscription).where(Subscription.public_id == public_id)
    if lock:
        query = query.with_for_update()
    subscription = session.scalars(query).one_or_none()
    if subscription is None:
        raise InvalidLink
    return subscription


def record_event(
    session: Session,
    subscription: Subscription,
    kind: EventKind,
    evidence: Evidence,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Append an event to the subscription's history (a Core insert: nothing reads it back),
    and queue its webhook event, if it has one, in the same transaction: every status
    change is recorded here, so every one reaches the newsletter's webhooks
    (``newsletter.webhooks.events``)."""
    occurred_at = at or utcnow()
    webhook_events.queue_for(session, subscription, kind, occurred_at)
    session.execute(
        INSERT_EVENT,
        {
            "subscription_id": subscription.id,
            "kind": kind,
            "occurred_at": occurred_at,
            "ip": evidence.ip,
            "user_agent": evidence.user_agent,
            "detail": detail,
        },
    )


def _printable(value: str | None, limit: int) -> str | None:
    """Keep printable characters only, up to ``limit`` of them."""
    if value is None:
        return None
    return "".join(char for char in value if char.isprintable())[:limit] or None
