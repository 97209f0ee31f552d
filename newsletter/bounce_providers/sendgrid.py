"""SendGrid's signed Event Webhook, per https://www.twilio.com/docs/sendgrid/for-developers/
tracking-events/getting-started-event-webhook-security-features and the event reference.

The ``X-Twilio-Email-Event-Webhook-Signature`` header is a base64 ECDSA (P-256, SHA-256)
signature of the ``X-Twilio-Email-Event-Webhook-Timestamp`` header followed by the raw
body, checked with the verification key SendGrid shows (base64 DER, or PEM). The body is
an array of events: ``bounce`` (its ``type`` bounce: hard; blocked: soft) and
``spamreport`` are reports; the rest is ignored. Each event's ``sg_event_id`` makes a
repeat change nothing; a timestamp too old is refused.
"""

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import current_app

from newsletter.bounce_providers import Call
from newsletter.bounce_providers import Malformed
from newsletter.bounce_providers import Unverified
from newsletter.bounce_providers import Verified
from newsletter.bounce_providers import check_age
from newsletter.bounce_providers import joined
from newsletter.bounce_providers import json_body
from newsletter.bounce_providers import text
from newsletter.bounces import Report
from newsletter.bounces import ReportKind

SOURCE = "sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def receive(call: Call) -> Verified:
    """Verify the signature over timestamp + body; each bounce and spam report."""
    key = _public_key(current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"])
    timestamp = call.headers.get(TIMESTAMP, "")
    try:
        signature = base64.b64decode(call.headers.get(SIGNATURE, ""), validate=True)
        key.verify(signature, timestamp.encode() + call.body, ec.ECDSA(hashes.SHA256()))
        check_age(float(timestamp))
    except (binascii.Error, InvalidSignature, ValueError):
        raise Unverified("the signature does not match") from None
    events = json_body(call)
    if not isinstance(events, list):
        raise Malformed("the body is not a JSON array of events")
    return Verified([report for event in events if (report := _report(event))])


def _public_key(configured: str) -> ec.EllipticCurvePublicKey:
    """The configured verification key; :class:`Unverified` if unset or unreadable."""
    if not configured:
        raise Unverified("NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
    try:
        if "BEGIN PUBLIC KEY" in configured:
            key = load_pem_public_key(configured.encode())
        else:
            key = load_der_public_key(base64.b64decode(configured))
    except (ValueError, binascii.Error):
        raise Unverified("NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY is no public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Unverified("NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY is no ECDSA key")
    return key


def _report(event: object) -> Report | None:
    """One event as a report, or None for what is no bounce nor complaint."""
    if not isinstance(event, dict):
        return None
    name, bounce_type = text(event.get("event")), text(event.get("type"))
    if name == "spamreport":
        kind = ReportKind.COMPLAINT
    elif name == "bounce":
        kind = ReportKind.SOFT_BOUNCE if bounce_type == "blocked" else ReportKind.HARD_BOUNCE
    else:
        return None
    return Report(
        kind,
        SOURCE,
        text(event.get("sg_event_id")) or None,
        message_id=text(event.get("smtp-id")) or None,
        recipient=text(event.get("email")) or None,
        detail=joined(name, bounce_type, text(event.get("status")), text(event.get("reason"))),
    )
