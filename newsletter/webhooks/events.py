"""The events outgoing webhooks tell about, queued in the transaction of the change.

``subscriptions.record_event`` calls :func:`queue_for` for every event it records, so every
status change anywhere (a signup, a confirmation, an unsubscribe by link, manage page or
editor, a bounce) reaches the newsletter's endpoints, or nothing does if the transaction
rolls back. An erasure records no event (the history goes with the reader): it calls
:func:`queue_erasure`, whose event carries no address.

Imports record no webhook event: they bring a list over from another provider, which the
newsroom's other systems had already; a file of 100,000 rows must not become 100,000
requests.
"""

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db.types import utcnow
from newsletter.models import EventKind
from newsletter.models import Subscription
from newsletter.webhooks.models import WebhookDelivery
from newsletter.webhooks.models import WebhookEndpoint

# What each kind of history event is called on the wire. "bounced" is a string, not an
# EventKind member: the bounce handling records it through the same record_event.
EVENT_TYPES: dict[str, str] = {
    EventKind.SIGNUP: "subscription.pending",
    EventKind.CONFIRMED: "subscription.confirmed",
    EventKind.UNSUBSCRIBED: "subscription.unsubscribed",  # a complaint's too
    EventKind.BOUNCED: "subscription.bounced",
}
ERASED = "subscription.erased"
TEST = "webhook.test"
INSERT_DELIVERY = insert(WebhookDelivery.__table__)


def queue_for(session: Session, subscription: Subscription, kind: str, at: datetime) -> None:
    """Queue the webhook event for a history event of ``subscription``, if it has one."""
    event_type = EVENT_TYPES.get(str(kind))
    if event_type is None:
        return
    endpoints = _endpoints(session, subscription.newsletter_id)
    if not endpoints:
        return
    data = {
        **_names(subscription),
        "email": subscription.email,
        "status": str(subscription.status),
        "language": subscription.language,
    }
    _queue(session, endpoints, event_type, data, at, subscription.id)


def queue_erasure(session: Session, subscription: Subscription) -> None:
    """Queue ``subscription.erased``: the newsletter and the subscription's id, no address,
    so that a receiver can erase its own copy."""
    endpoints = _endpoints(session, subscription.newsletter_id)
    if endpoints:
        _queue(session, endpoints, ERASED, _names(subscription), utcnow(), None)


def queue_test(session: Session, endpoint: WebhookEndpoint) -> None:
    """Queue ``webhook.test`` to one endpoint: it names the newsletter, and nobody."""
    data = {"newsletter": endpoint.newsletter.slug}
    _queue(session, [endpoint.id], TEST, data, utcnow(), None)


def new_webhook_id() -> str:
    """A delivery's ``webhook-id``: fixed when queued, the same on every attempt."""
    return f"msg_{secrets.token_urlsafe(18)}"


def _names(subscription: Subscription) -> dict[str, str]:
    """What identifies the subscription to a receiver, without the address."""
    return {"newsletter": subscription.newsletter.slug, "subscription": subscription.public_id}


def _endpoints(session: Session, newsletter_id: int) -> list[int]:
    """The newsletter's endpoints. A disabled one gets its events queued too: enabled
    again, it receives what it missed."""
    query = select(WebhookEndpoint.id).where(WebhookEndpoint.newsletter_id == newsletter_id)
    return list(session.scalars(query))


def _queue(
    session: Session,
    endpoints: list[int],
    event_type: str,
    data: dict[str, Any],
    at: datetime,
    subscription_id: int | None,
) -> None:
    """One delivery per endpoint, with the body it will carry on every attempt."""
    payload = json.dumps(
        {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    session.execute(
        INSERT_DELIVERY,
        [
            {
                "endpoint_id": endpoint_id,
                "subscription_id": subscription_id,
                "webhook_id": new_webhook_id(),
                "event_type": event_type,
                "payload": payload,
                "next_attempt_at": at,
                "created_at": at,
            }
            for endpoint_id in endpoints
        ],
    )
