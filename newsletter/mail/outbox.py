"""The outbox: messages written with the change that caused them, claimed by workers
under a lease (``newsletter.db.leases``): if a worker dies, its messages become claimable
again when the lease runs out.

The same claim holds back the mail of a subscription that bounced or complained since
the message was queued: such a message is claimed as ``suppressed``, never as ``sending``,
and the worker skips it (SPEC, "Deliverability": no more mail to such an address).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.db import leases
from newsletter.db.sql import commit_without_waiting_for_disk
from newsletter.db.types import utcnow
from newsletter.mail import verp
from newsletter.mail.messages import Rendered
from newsletter.models import MessageKind
from newsletter.models import OutboxMessage
from newsletter.models import OutboxStatus
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(days=1)
MAX_ERROR_LENGTH = 2000
# Built once; an outbox row is written with a plain INSERT (see enqueue).
INSERT_MESSAGE = insert(OutboxMessage.__table__)


@dataclass(frozen=True)
class Envelope:
    """What a transport needs to send one message, detached from any session."""

    id: int
    sender: str
    recipient: str
    message_id: str
    raw: str
    kind: str  # confirmation, welcome…: for the operator's log
    # Held back at the claim: its address bounced or complained since it was queued.
    suppressed: bool = False


# Messages whose row is deleted once sent or given up on, instead of kept: they go to an
# address that was erased (see ``forget``).
FORGOTTEN_KINDS = frozenset({MessageKind.ERASURE_NOTICE.value})


def enqueue(session: Session, message: Rendered, subscription: Subscription | None) -> None:
    """Queue a rendered message; it is sent only if the caller's transaction commits.
    ``subscription`` is the reader's it is about: None for mail to editors, or to an
    address with no subscription left.

    A plain INSERT in the caller's transaction: the row is only ever read by workers. Its
    envelope sender is the VERP return path naming it when ``BOUNCE_ADDRESS`` is set.
    """
    session.execute(
        INSERT_MESSAGE,
        {
            "subscription_id": subscription.id if subscription is not None else None,
            "kind": message.kind,
            "sender": verp.envelope_sender(message.sender, message.message_id),
            "recipient": message.recipient,
            "message_id": message.message_id,
            "raw": message.raw,
        },
    )


def claim(
    session: Session, limit: int, due_by: datetime | None = None, lease: timedelta = LEASE
) -> list[Envelope]:
    """Take up to ``limit`` messages due by ``due_by`` (default: now), oldest first.

    Each is leased for ``lease``: if its worker dies, another may claim it after that.
    """
    now = utcnow()
    due_by = now if due_by is None else min(due_by, now)
    claimed = leases.claim(
        session,
        OutboxMessage,
        (
            OutboxMessage.id,
            OutboxMessage.sender,
            OutboxMessage.recipient,
            OutboxMessage.message_id,
            OutboxMessage.raw,
            OutboxMessage.kind,
            OutboxMessage.status == OutboxStatus.SUPPRESSED,
        ),
        limit=limit,
        now=now,
        due_by=due_by,
        lease=lease,
        held_back=SUPPRESSED_ADDRESS,
    )
    envelopes = (
        Envelope(row[0], row[1], row[2], row[3], row[4], row[5], suppressed=bool(row[6]))
        for row in claimed
    )
    return sorted(envelopes, key=lambda envelope: envelope.id)


# A message's subscription may not be mailed: it bounced, or its reader complained (both
# lifted by a new signup). A correlated subquery on the primary key, run per claimed row.
SUPPRESSED_ADDRESS = exists().where(
    Subscription.id == OutboxMessage.subscription_id,
    (Subscription.status == SubscriptionStatus.BOUNCED) | Subscription.complained_at.is_not(None),
)


# Built once: a worker runs it for every batch it sends. A Core statement on the table
# (nothing in the session to synchronise) skips the ORM's per-statement work.
MARK_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id.in_(bindparam("row_ids", expanding=True)))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("sent_time"),
        claimed_until=None,
        last_error=None,
    )
)


def mark_sent(session: Session, message_ids: Collection[int]) -> None:
    """Record the delivery of a batch, in one statement; the messages leave the queue.

    On PostgreSQL this commit does not wait for the disk (``synchronous_commit`` off for
    this transaction only): waiting for a flush after every batch costs more than the
    batch's SMTP dialogue. A worker that dies loses nothing by it; only a crash of the
    database server itself in the next instant could forget the mark, and the messages
    would then go out again when their lease runs out: at least once, as ever.
    """
    if not message_ids:
        return
    commit_without_waiting_for_disk(session)
    session.execute(MARK_SENT, {"row_ids": list(message_ids), "sent_time": utcnow()})


def forget(session: Session, message_ids: Collection[int]) -> None:
    """Delete messages of ``FORGOTTEN_KINDS`` once sent: the queue keeps no row naming an
    address that was erased."""
    if message_ids:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))


def mark_failed_attempt(
    session: Session,
    message_id: int,
    error: str,
    *,
    permanent: bool,
    max_attempts: int,
    retry_base_seconds: float,
) -> None:
    """Put the message back with a later due time, or give up on it for good."""
    message = session.get(OutboxMessage, message_id)
    if message is None:  # erased while we were sending
        return
    message.last_error = error[:MAX_ERROR_LENGTH]
    message.claimed_until = None
    given_up = permanent or message.attempts >= max_attempts
    if given_up and message.kind in FORGOTTEN_KINDS:
        session.delete(message)  # not kept either
    elif given_up:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.QUEUED
        message.next_attempt_at = utcnow() + backoff(message.attempts, retry_base_seconds)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Exponential delay after the ``attempts``-th failure: base, 2×base, 4×base … a day."""
    delay = timedelta(seconds=base_seconds)
    # Double step by step and stop at the cap: 2 ** attempts overflows a timedelta.
    for _ in range(attempts - 1):
        if delay >= MAX_BACKOFF:
            break
        delay *= 2
    return min(delay, MAX_BACKOFF)


@dataclass(frozen=True)
class QueueHealth:
    """What an editor needs to see whether mail goes out: counts, the backlog's age, errors."""

    queued: int
    sending: int
    failed: int
    oldest_queued_at: datetime | None
    last_error: str | None
    last_error_queued_at: datetime | None


def health(session: Session) -> QueueHealth:
    """Count the messages not yet sent, and show the newest failure's error."""
    counts = dict(
        session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status != OutboxStatus.SENT)
            .group_by(OutboxMessage.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.QUEUED
        )
    )
    newest_failure = session.execute(
        select(OutboxMessage.last_error, OutboxMessage.created_at)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    return QueueHealth(
        queued=counts.get(OutboxStatus.QUEUED, 0),
        sending=counts.get(OutboxStatus.SENDING, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        oldest_queued_at=oldest,
        last_error=newest_failure.last_error if newest_failure else None,
        last_error_queued_at=newest_failure.created_at if newest_failure else None,
    )
