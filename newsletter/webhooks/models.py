"""The tables of outgoing webhooks: the endpoints, and one delivery per event and endpoint.

A delivery row is the durable queue: written in the transaction of the change it tells
about, claimed by a worker under a lease (as the mail outbox is), and kept afterwards as
the endpoint's delivery log. Its ``webhook_id`` is fixed when it is queued, so every
retry, and a second worker's after the first died mid-request, carries the same one: the
receiver can drop duplicates (Standard Webhooks' at-least-once delivery).
"""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from newsletter.db.base import Base
from newsletter.db.types import UTCDateTime
from newsletter.db.types import utcnow
from newsletter.models import URL_LENGTH
from newsletter.models import Newsletter
from newsletter.models import OutboxStatus
from newsletter.models import _string_enum

ERROR_LENGTH = 2000


class WebhookEndpoint(Base):
    """A URL an editor registered for a newsletter's events, with its signing secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    # "whsec_" and base64 of 32 random bytes: Standard Webhooks' form of a secret.
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by hand, or by the worker once every attempt failed for the failure window.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first failure since the last success: the failure window counts from here.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The delivery log's summary: the last attempt, what it got back, why it failed.
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    newsletter: Mapped[Newsletter] = relationship()


class WebhookDelivery(Base):
    """One event for one endpoint: queued, being sent (leased), or sent."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    # The subscription an event names: an erasure deletes its deliveries with it (their
    # payloads hold the address). Empty for the erasure's own event, which names nobody.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        _string_enum(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
