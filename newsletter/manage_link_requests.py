"""Manage links asked for by address (``/manage``): the request records, the worker mails.

Why in two steps: the answer to "email me my manage link" must not say whether the
address is a reader's, and neither may its duration. So the request does the same thing
for every address, :func:`record` (one INSERT); the worker, where nobody waits on it,
looks the address up with :func:`apply_pending` and mails the link to a reader, and to
nobody else. Exactly once without leases, as ``newsletter.signup_requests`` explains.
"""

from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import newsletters
from newsletter.db.types import utcnow
from newsletter.mail import messages
from newsletter.mail import outbox
from newsletter.models import ManageLinkRequest
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus

# Built once: a request writes its row with a plain INSERT and reads nothing back.
INSERT_REQUEST = insert(ManageLinkRequest.__table__)


def record(session: Session, email: str) -> None:
    """Keep a request for ``email``'s manage link (already normalised) for the worker."""
    session.execute(INSERT_REQUEST, {"email_key": addresses.key(email), "received_at": utcnow()})


def apply_pending(session: Session, limit: int) -> int:
    """Answer up to ``limit`` requests, oldest first, and delete them; how many.

    Needs an app context (mail templates); the caller commits. A request for an address
    that is no reader's is dropped without a trace. Several requests for one reader in a
    batch send one email.
    """
    batch = session.scalars(
        select(ManageLinkRequest)
        .order_by(ManageLinkRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for email_key in dict.fromkeys(request.email_key for request in batch):
        _mail_link(session, email_key)
    if batch:
        session.execute(
            delete(ManageLinkRequest).where(
                ManageLinkRequest.id.in_([request.id for request in batch])
            )
        )
    return len(batch)


def forget(session: Session, email_key: str) -> None:
    """Delete the address's requests not yet answered (an erasure leaves no address)."""
    session.execute(delete(ManageLinkRequest).where(ManageLinkRequest.email_key == email_key))


def _mail_link(session: Session, email_key: str) -> None:
    """Queue the manage link for the reader of ``email_key``, if there is one.

    The message is queued against the reader's first subscription, so that erasing the
    reader takes it with everything else of theirs (outbox rows cascade from
    subscriptions). A reader always has one: a reader left with none is purged. The email
    is in that subscription's language. A reader whose every subscription bounced is sent
    nothing (SPEC: a bounced address gets no mail until the reader signs up again), and
    the request is dropped as a stranger's is: the answer on the page was the same.
    """
    subscription = session.scalars(
        select(Subscription)
        .join(Subscription.reader)
        .join(Subscription.newsletter)
        .where(Reader.email_key == email_key, Subscription.status != SubscriptionStatus.BOUNCED)
        # One the reader did not complain about first: the outbox holds back mail queued
        # against a complaint, and the link is still theirs to have from another newsletter.
        .order_by(Subscription.complained_at.is_not(None), *newsletters.LISTING_ORDER)
        .limit(1)
    ).first()
    if subscription is not None:
        outbox.enqueue(session, messages.manage_link(subscription), subscription)
