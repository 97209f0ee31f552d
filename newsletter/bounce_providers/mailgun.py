"""Mailgun's webhooks (JSON): ``signature`` {timestamp, token, signature} and
``event-data``, per https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/
(securing-webhooks, webhook-payloads).

The signature is the hex HMAC-SHA256 of timestamp + token under the webhook signing key.
Mailgun advises refusing old timestamps and tokens seen before: the token is returned as
the call's nonce, which may not come again. ``failed`` events are bounces (``severity``
permanent: hard; temporary: soft), ``complained`` ones complaints; the rest is ignored.
"""

import hashlib
import hmac

from flask import current_app

from newsletter.bounce_providers import Call
from newsletter.bounce_providers import Malformed
from newsletter.bounce_providers import Unverified
from newsletter.bounce_providers import Verified
from newsletter.bounce_providers import check_age
from newsletter.bounce_providers import joined
from newsletter.bounce_providers import json_body
from newsletter.bounce_providers import obj
from newsletter.bounce_providers import text
from newsletter.bounces import Report
from newsletter.bounces import ReportKind

SOURCE = "mailgun"


def receive(call: Call) -> Verified:
    """Verify the call's signature and freshness; its event as a report."""
    key = current_app.config["MAILGUN_WEBHOOK_SIGNING_KEY"]
    if not key:
        raise Unverified("NEWSLETTER_MAILGUN_WEBHOOK_SIGNING_KEY is not set")
    body = json_body(call)
    if not isinstance(body, dict) or not isinstance(body.get("signature"), dict):
        raise Unverified("no signature")
    signature = body["signature"]
    timestamp, token, given = (
        text(signature.get(name)) for name in ("timestamp", "token", "signature")
    )
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not token or not hmac.compare_digest(expected, given.lower()):
        raise Unverified("the signature does not match")
    try:
        check_age(float(timestamp))
    except ValueError:
        raise Unverified("the timestamp is not a number") from None
    event = body.get("event-data")
    if not isinstance(event, dict):
        raise Malformed("no event-data")
    report = _report(event)
    return Verified([report] if report else [], nonce=token)


def _report(event: dict) -> Report | None:
    """The event as a report, or None for an event that is no bounce nor complaint."""
    name = text(event.get("event"))
    severity = text(event.get("severity"))
    if name == "failed":
        kind = ReportKind.HARD_BOUNCE if severity == "permanent" else ReportKind.SOFT_BOUNCE
    elif name == "complained":
        kind = ReportKind.COMPLAINT
    else:
        return None
    headers = obj(obj(event.get("message")).get("headers"))
    status = obj(event.get("delivery-status"))
    detail = joined(
        name,
        severity,
        text(event.get("reason")),
        text(status.get("code")),
        text(status.get("message")) or text(status.get("description")),
    )
    return Report(
        kind,
        SOURCE,
        text(event.get("id")) or None,
        message_id=text(headers.get("message-id")) or None,
        return_path=text(obj(event.get("envelope")).get("sender")) or None,
        recipient=text(event.get("recipient")) or None,
        detail=detail,
    )
