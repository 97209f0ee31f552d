"""Keeping consent evidence no longer than needed: IP addresses go after N days.

A subscription keeps the proof that consent was given (when the reader signed up and
confirmed, through which form, from which page, and the history of each step), but the
IP addresses it was given from are personal data that the proof needs only for a while:
after ``IP_RETENTION_DAYS`` they are removed (set to NULL), from the subscription's
signup and confirmation evidence, its history's events, and any signup not yet applied.
Off by default (the IPs are kept). Run daily by ``newsletter daily``; each run is one
UPDATE per table, and running it again changes nothing more.
"""

from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.db.types import utcnow
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent


def anonymise_ips(session: Session, older_than: timedelta) -> int:
    """Remove the IP addresses recorded more than ``older_than`` ago; how many records
    lost one (a subscription's signup and confirmation count once each)."""
    cutoff = utcnow() - older_than
    changes = (
        (Subscription.signup_ip, Subscription.signup_at),
        (Subscription.confirmed_ip, Subscription.confirmed_at),
        (SubscriptionEvent.ip, SubscriptionEvent.occurred_at),
        (SignupRequest.ip, SignupRequest.received_at),
    )
    changed = 0
    for column, recorded_at in changes:
        result = session.execute(
            update(column.class_)
            .where(column.is_not(None), recorded_at < cutoff)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
        changed += cast(CursorResult, result).rowcount
    return changed
