"""Bounces and complaints: what a report from the mail system does to a subscription.

Every source (a provider's webhook in ``newsletter.web.bounce_webhooks``, a saved report
read by ``newsletter.bounce_reports``) turns what it received into :class:`Report` values
and hands them to :func:`record`, in the caller's transaction. A report counts only when it
names a message of ours, by our Message-ID or by the VERP return path it went out with
(``newsletter.mail.verp``), and only once: its source's identifier is kept, so a provider's
retry, a replayed call or a file ingested twice changes nothing.

============  ===============================================================
report        what happens
============  ===============================================================
hard bounce   the reader's pending and confirmed subscriptions become ``bounced``
soft bounce   counted on the message's subscription; ``SOFT_BOUNCE_LIMIT`` of
              them make a hard bounce
complaint     unsubscribed, flagged as a complaint: the welcome's newsletter, or
              for mail about every newsletter (a confirmation, a manage link)
              each pending or confirmed subscription of the reader
============  ===============================================================

A hard bounce is the mailbox's, so it ends every newsletter's mail to it; a complaint is
about what the reader was sent. Either way the address gets no more mail until the reader
signs up again (``subscriptions.start_new_round`` lifts it), and mail already queued is
held back by the worker (``mail.outbox.claim``). Each change is a history event carrying
the provider's evidence, written through ``subscriptions.record_event`` like every other
status change.
"""

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import subscriptions
from newsletter.db.sql import insert_unless_exists
from newsletter.db.types import utcnow
from newsletter.mail import verp
from newsletter.models import URL_LENGTH
from newsletter.models import BounceReport
from newsletter.models import EventKind
from newsletter.models import MessageKind
from newsletter.models import OutboxMessage
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions import Evidence

# Statuses a bounce or a complaint moves a subscription out of: those still mailed.
MAILED = (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)
REPORT_ID_LENGTH = 255


class ReportKind(enum.StrEnum):
    """What the mail system says about a message."""

    HARD_BOUNCE = "hard"  # the mailbox is gone, or refuses us for good
    SOFT_BOUNCE = "soft"  # not delivered for now: a full mailbox, a server down
    COMPLAINT = "complaint"  # the reader marked it as spam


class Outcome(enum.StrEnum):
    """What :func:`record` did with a report, for the caller's answer and counts."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this report was applied before
    UNKNOWN_MESSAGE = "unknown"  # it names no message of ours (or another recipient)


@dataclass(frozen=True)
class Report:
    """One report about one message of ours, as its source tells it."""

    kind: ReportKind
    source: str  # ses, postmark, mailgun, sendgrid, file
    # The source's own identifier of this report: the same one again changes nothing.
    report_id: str | None
    # Our Message-ID as the report quotes it (with or without its angle brackets)...
    message_id: str | None = None
    # ...or the envelope sender the message went out with (a VERP return path).
    return_path: str | None = None
    # The address the report is about, when it says: it must be the message's.
    recipient: str | None = None
    # The evidence, as the source gives it: type, status code, diagnostic.
    detail: str = ""


def record(session: Session, report: Report, evidence: Evidence) -> Outcome:
    """Apply one report (see the module's table) in the caller's transaction."""
    message = _message(session, report)
    if message is None or message.subscription_id is None:
        return Outcome.UNKNOWN_MESSAGE
    if report.report_id and not first_seen(session, report.source, report.report_id):
        return Outcome.DUPLICATE
    subscription = session.scalars(
        select(Subscription).where(Subscription.id == message.subscription_id).with_for_update()
    ).one()
    detail = f"{report.source}: {report.detail}"[:URL_LENGTH]
    if report.kind is ReportKind.COMPLAINT:
        _complained(session, subscription, message.kind, evidence, detail)
    elif report.kind is ReportKind.SOFT_BOUNCE:
        _soft_bounced(session, subscription, evidence, detail)
    else:
        _bounced(session, subscription, evidence, detail)
    return Outcome.APPLIED


def first_seen(session: Session, source: str, report_id: str) -> bool:
    """Keep ``source``'s identifier ``report_id`` (a report's, or a call's one-time token);
    False if it was kept before: the same again changes nothing."""
    return insert_unless_exists(
        session,
        BounceReport,
        ["source", "report_id"],
        source=source,
        report_id=report_id[:REPORT_ID_LENGTH],
        received_at=utcnow(),
    )


def _message(session: Session, report: Report) -> OutboxMessage | None:
    """The message of ours the report is about, by Message-ID or VERP token; None if none
    (or if the report names another recipient)."""
    message_ids = []
    if report.message_id:
        message_ids.append(f"<{report.message_id.strip().strip('<>')}>")
    token = verp.token_of(report.return_path) if report.return_path else None
    if token:
        message_ids.append(verp.message_id_of(token))
    for message_id in message_ids:
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one_or_none()
        if message is not None:
            break
    else:
        return None
    if report.recipient and addresses.key(report.recipient) != addresses.key(message.recipient):
        return None
    return message


def _bounced(session: Session, subscription: Subscription, evidence: Evidence, detail: str) -> None:
    """The mailbox is gone: each of the reader's subscriptions still mailed is bounced."""
    for each in _still_mailed(session, subscription.reader_id):
        each.status = SubscriptionStatus.BOUNCED
        each.soft_bounces = 0
        subscriptions.record_event(session, each, EventKind.BOUNCED, evidence, detail)


def _soft_bounced(
    session: Session, subscription: Subscription, evidence: Evidence, detail: str
) -> None:
    """Count it; ``SOFT_BOUNCE_LIMIT`` of them since the reader last signed up (nothing
    resets the count in between: no delivery is reported) make a hard bounce."""
    subscription.soft_bounces += 1
    subscriptions.record_event(session, subscription, EventKind.SOFT_BOUNCE, evidence, detail)
    if subscription.soft_bounces >= current_app.config["SOFT_BOUNCE_LIMIT"]:
        limit = f" (soft bounce {subscription.soft_bounces}: now a bounce)"
        _bounced(session, subscription, evidence, (detail + limit)[:URL_LENGTH])


def _complained(
    session: Session, subscription: Subscription, kind: str, evidence: Evidence, detail: str
) -> None:
    """Unsubscribe, flagged: from the welcome's newsletter, or for mail about all of them
    (a confirmation, a manage link) from each still mailed."""
    if kind == MessageKind.WELCOME:
        complained = [subscription]
    else:
        complained = list(_still_mailed(session, subscription.reader_id)) or [subscription]
    now = utcnow()
    for each in complained:
        subscriptions.end(session, each, evidence, "complaint")
        each.complained_at = now
        subscriptions.record_event(session, each, EventKind.COMPLAINED, evidence, detail)


def _still_mailed(session: Session, reader_id: int) -> Iterable[Subscription]:
    """The reader's pending and confirmed subscriptions, locked, in a fixed order."""
    return session.scalars(
        select(Subscription)
        .where(Subscription.reader_id == reader_id, Subscription.status.in_(MAILED))
        .order_by(Subscription.id)
        .with_for_update()
    ).all()
