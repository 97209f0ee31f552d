"""Postmark's bounce and spam-complaint webhooks, per https://postmarkapp.com/developer/
webhooks/bounce-webhook and spam-complaint-webhook.

Postmark does not sign its calls: it documents HTTP Basic authentication in the webhook's
URL (``https://user:password@host/webhooks/bounces/postmark``), which we check against
``POSTMARK_WEBHOOK_AUTH`` in constant time. Its ``MessageID`` is Postmark's own, so the
report finds our message by our Message-ID in the bounce's ``Content`` (turn on "Include
bounce content" in the webhook's settings) or in ``Metadata["message-id"]``. The bounce's
``ID`` makes a repeat of the same call change nothing.
"""

import base64
import binascii
import hmac
import re

from flask import current_app

from newsletter.bounce_providers import Call
from newsletter.bounce_providers import Malformed
from newsletter.bounce_providers import Unverified
from newsletter.bounce_providers import Verified
from newsletter.bounce_providers import joined
from newsletter.bounce_providers import json_body
from newsletter.bounce_providers import text
from newsletter.bounces import Report
from newsletter.bounces import ReportKind
from newsletter.mail import verp

SOURCE = "postmark"
# Bounce types (Postmark's "Type") that say the address is gone, or is gone for now.
HARD = {"HardBounce", "BadEmailAddress"}
SOFT = {"SoftBounce", "Transient", "DnsError"}
COMPLAINTS = {"SpamComplaint"}
OUR_MESSAGE_ID = re.compile(rf"<{verp.TOKEN.pattern}@[^<>\s]+>")


def receive(call: Call) -> Verified:
    """Check the Basic credentials; the bounce or complaint as a report."""
    expected = current_app.config["POSTMARK_WEBHOOK_AUTH"]
    if not expected:
        raise Unverified("NEWSLETTER_POSTMARK_WEBHOOK_AUTH is not set")
    if not hmac.compare_digest(_basic_credentials(call).encode(), expected.encode()):
        raise Unverified("wrong or missing Basic credentials")
    body = json_body(call)
    if not isinstance(body, dict):
        raise Malformed("the body is not a JSON object")
    kind = _kind(body)
    if kind is None:
        return Verified()
    metadata = body.get("Metadata")
    quoted = OUR_MESSAGE_ID.search(text(body.get("Content")))
    message_id = (text(metadata.get("message-id")) if isinstance(metadata, dict) else "") or (
        quoted.group(0) if quoted else ""
    )
    report_id = text(body.get("ID"))
    return Verified(
        [
            Report(
                kind,
                SOURCE,
                f"{body.get('RecordType')}:{report_id}" if report_id else None,
                message_id=message_id or None,
                recipient=text(body.get("Email")) or None,
                detail=joined(text(body.get("Type")), text(body.get("Details"))),
            )
        ]
    )


def _kind(body: dict) -> ReportKind | None:
    """What the record reports, or None for what is no bounce nor complaint."""
    record_type, bounce_type = text(body.get("RecordType")), text(body.get("Type"))
    if record_type == "SpamComplaint" or bounce_type in COMPLAINTS:
        return ReportKind.COMPLAINT
    if record_type != "Bounce":
        return None
    if bounce_type in HARD:
        return ReportKind.HARD_BOUNCE
    return ReportKind.SOFT_BOUNCE if bounce_type in SOFT else None


def _basic_credentials(call: Call) -> str:
    """``user:password`` from the Authorization header; empty if there is none."""
    scheme, _, encoded = call.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
