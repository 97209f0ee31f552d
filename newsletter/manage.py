"""What a reader does from their manage link: see every newsletter, join, leave. No Flask
request in here; functions take the caller's session and never commit.

A manage link names the reader, not a subscription (``link_tokens.make_manage_token``),
and it arrived in their mailbox: it proves the mailbox as a confirm link does. So joining
a newsletter from it is confirmed at once, with the manage link as the evidence (source
``manage``; the event says so). The token itself is never stored: it opens the page for
ever, and exports and histories must not hand that out.

The page lists every public newsletter, in order, and any other newsletter the reader
has a subscription to (so that they can leave it). Those are the only ones a reader can
join or leave here; any other slug is refused as :class:`UnknownChoice`.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import link_tokens
from newsletter import list_management
from newsletter import newsletters
from newsletter import subscriptions
from newsletter.db.types import utcnow
from newsletter.mail import messages
from newsletter.mail import outbox
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.refusals import Refusal
from newsletter.subscriptions import Evidence
from newsletter.subscriptions import InvalidLink

SOURCE = "manage"
EVENT_DETAIL = "manage link"


class UnknownChoice(Refusal, LookupError):
    """A newsletter the manage page does not offer this reader."""

    reason = "not_offered"


@dataclass(frozen=True)
class Choice:
    """One line of the manage page: a newsletter and the reader's status in it (or None)."""

    newsletter: Newsletter
    status: SubscriptionStatus | None

    @property
    def subscribed(self) -> bool:
        """Whether the reader receives it, or will once they confirm."""
        return self.status in (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)


def reader_of(session: Session, token: str) -> Reader:
    """The reader a manage token names, or :class:`~newsletter.subscriptions.InvalidLink`."""
    try:
        public_id = link_tokens.read_manage_token(current_app.config["SECRET_KEY"], token)
    except link_tokens.InvalidToken as error:
        raise InvalidLink from error
    reader = session.scalars(select(Reader).where(Reader.public_id == public_id)).one_or_none()
    if reader is None:
        raise InvalidLink  # erased since the link was sent
    return reader


def choices(session: Session, reader: Reader) -> list[Choice]:
    """What the page shows: the newsletters on offer to the reader, in the lists' order."""
    rows = session.execute(
        select(Newsletter, Subscription.status)
        .outerjoin(
            Subscription,
            (Subscription.newsletter_id == Newsletter.id) & (Subscription.reader_id == reader.id),
        )
        .where(or_(Newsletter.public, Subscription.id.is_not(None)))
        .order_by(*newsletters.LISTING_ORDER)
    )
    return [Choice(newsletter, status) for newsletter, status in rows]


def join(session: Session, reader: Reader, slug: str, evidence: Evidence) -> Newsletter:
    """Subscribe the reader to the newsletter ``slug``, confirmed at once; a repeat is
    harmless (a confirmed subscription stays as it is)."""
    newsletter = _offered(session, reader, slug).newsletter
    now = utcnow()
    subscription = subscriptions.made_and_locked(session, newsletter, reader, evidence, now)
    if subscription.status is SubscriptionStatus.CONFIRMED:
        return newsletter
    if subscription.status.opted_out:
        subscriptions.start_new_round(subscription, evidence, now)
    subscriptions.record_event(session, subscription, EventKind.SIGNUP, evidence, EVENT_DETAIL)
    subscriptions.mark_confirmed(session, subscription, evidence, EVENT_DETAIL)
    return newsletter


def leave(session: Session, reader: Reader, slug: str, evidence: Evidence) -> Newsletter:
    """Unsubscribe the reader from the newsletter ``slug``; a repeat is harmless."""
    newsletter = _offered(session, reader, slug).newsletter
    subscription = subscriptions.locked(session, newsletter, reader)
    if subscription is not None:
        subscriptions.end(session, subscription, evidence, EVENT_DETAIL)
    return newsletter


def leave_all(session: Session, reader: Reader, evidence: Evidence) -> None:
    """Unsubscribe the reader from every newsletter they are in."""
    for subscription in session.scalars(
        select(Subscription).where(Subscription.reader_id == reader.id).with_for_update()
    ):
        subscriptions.end(session, subscription, evidence, EVENT_DETAIL)


def erase(session: Session, reader: Reader) -> None:
    """ "Erase me": the erasure an editor performs (the reader in every newsletter, an
    anonymous tombstone each), then one email to the address saying it was done; the
    queue forgets that email once it is sent."""
    address = reader.email
    list_management.erase(session, reader)
    outbox.enqueue(session, messages.erasure_notice(address), None)


def _offered(session: Session, reader: Reader, slug: str) -> Choice:
    """The page's line for ``slug``, or :class:`UnknownChoice`."""
    for choice in choices(session, reader):
        if choice.newsletter.slug == slug:
            return choice
    raise UnknownChoice(slug)
