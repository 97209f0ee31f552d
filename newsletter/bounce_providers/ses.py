"""Amazon SES bounce and complaint notifications, delivered by SNS to an HTTPS subscription.

Verified as https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
says: the topic must be one of ``SES_TOPIC_ARNS`` (anyone can make an SNS topic, and SNS
signs theirs too); ``SigningCertURL`` must be https on an SNS host (``SNS_HOST_PATTERN``)
and end in .pem; the certificate, fetched once and kept, must be current, and its key must
verify ``Signature`` over the documented string to sign, with SHA-1 (``SignatureVersion``
1) or SHA-256 (2); ``Timestamp`` must be recent. A ``SubscriptionConfirmation`` is then
confirmed by visiting its ``SubscribeURL`` (also on an SNS host). A ``Notification``'s
``Message`` is SES's JSON (https://docs.aws.amazon.com/ses/latest/dg/notification-
contents.html): ``Bounce`` (``Permanent``: hard; the rest: soft) or ``Complaint``. SNS's
``MessageId`` makes a redelivery change nothing.
"""

import base64
import binascii
import logging
import re
import ssl
import threading
import urllib.request
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app

from newsletter.bounce_providers import Call
from newsletter.bounce_providers import Malformed
from newsletter.bounce_providers import Unverified
from newsletter.bounce_providers import Verified
from newsletter.bounce_providers import check_age
from newsletter.bounce_providers import joined
from newsletter.bounce_providers import json_body
from newsletter.bounce_providers import json_of
from newsletter.bounce_providers import obj
from newsletter.bounce_providers import text
from newsletter.bounces import Report
from newsletter.bounces import ReportKind

log = logging.getLogger(__name__)

SOURCE = "ses"
# The fields signed, in this order, per message type (absent optional ones are skipped).
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,  # noqa: S303 (SNS's SignatureVersion 1 is SHA-1; 2 is SHA-256)
    "2": hashes.SHA256,
}
FETCH_TIMEOUT_SECONDS = 10
MAX_FETCH_BYTES = 64 * 1024
CERTIFICATES_KEPT = 32
_certificates_lock = threading.Lock()


def receive(call: Call) -> Verified:
    """Verify the SNS message; confirm a subscription, or return the SES reports."""
    message = json_body(call)
    if not isinstance(message, dict):
        raise Malformed("the body is not a JSON object")
    fields = {name: value for name, value in message.items() if isinstance(value, str)}
    kind = fields.get("Type", "")
    if kind not in SIGNED_FIELDS:
        raise Unverified("not an SNS message type we know")
    topics = {arn.strip() for arn in current_app.config["SES_TOPIC_ARNS"].split(",") if arn.strip()}
    if not topics:
        raise Unverified("NEWSLETTER_SES_TOPIC_ARNS is not set")
    if fields.get("TopicArn") not in topics:
        raise Unverified("a topic that is not ours")
    _verify_signature(fields, kind)
    try:
        sent_at = datetime.fromisoformat(fields.get("Timestamp", "").replace("Z", "+00:00"))
    except ValueError:
        raise Unverified("no valid Timestamp") from None
    check_age(sent_at.timestamp())
    if kind == "SubscriptionConfirmation":
        _fetch(_sns_url(fields.get("SubscribeURL", ""), "SubscribeURL"))
        log.info("Confirmed the SNS subscription to a topic of NEWSLETTER_SES_TOPIC_ARNS")
        return Verified()
    if kind == "UnsubscribeConfirmation":
        return Verified()
    return Verified(_reports(fields.get("MessageId", ""), fields.get("Message", "")))


def _verify_signature(fields: dict[str, str], kind: str) -> None:
    """The signature over the string to sign, with the certificate's key."""
    algorithm = HASHES.get(fields.get("SignatureVersion", ""))
    if algorithm is None:
        raise Unverified("an unknown SignatureVersion")
    signed = "".join(
        f"{name}\n{fields[name]}\n" for name in SIGNED_FIELDS[kind] if name in fields
    ).encode("utf-8")
    certificate = _certificate(_sns_url(fields.get("SigningCertURL", ""), "SigningCertURL"))
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Unverified("the signing certificate has no RSA key")
    try:
        signature = base64.b64decode(fields.get("Signature", ""), validate=True)
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except (binascii.Error, InvalidSignature):
        raise Unverified("the signature does not match") from None


def _sns_url(url: str, name: str) -> str:
    """``url`` if it is https on an SNS host (and, for a certificate, a .pem file)."""
    parts = urlsplit(url)
    host_pattern = current_app.config["SNS_HOST_PATTERN"]
    if parts.scheme != "https" or not re.fullmatch(host_pattern, parts.hostname or ""):
        raise Unverified(f"{name} is not https on an SNS host")
    if name == "SigningCertURL" and not parts.path.endswith(".pem"):
        raise Unverified("SigningCertURL is not a .pem file")
    return url


def _certificate(url: str) -> x509.Certificate:
    """The signing certificate at ``url``, fetched once per app; it must be current."""
    kept: dict[str, x509.Certificate] = current_app.extensions.setdefault("sns_certificates", {})
    with _certificates_lock:
        certificate = kept.get(url)
    if certificate is None:
        try:
            certificate = x509.load_pem_x509_certificate(_fetch(url))
        except ValueError:
            raise Unverified("SigningCertURL holds no certificate") from None
        with _certificates_lock:
            if len(kept) >= CERTIFICATES_KEPT:
                kept.clear()
            kept[url] = certificate
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise Unverified("the signing certificate has expired or is not valid yet")
    return certificate


def _fetch(url: str) -> bytes:
    """GET ``url`` (already checked to be https on an SNS host) with ``HTTP_FETCH``, or
    over HTTPS with the system's certificate authorities."""
    fetch = current_app.config["HTTP_FETCH"]
    try:
        if fetch is not None:
            return fetch(url)
        context = ssl.create_default_context()
        # https only, checked by _sns_url.
        with urllib.request.urlopen(  # noqa: S310 # nosec B310
            url, timeout=FETCH_TIMEOUT_SECONDS, context=context
        ) as response:
            return response.read(MAX_FETCH_BYTES)
    except OSError as error:
        raise Unverified(f"could not fetch from SNS: {type(error).__name__}") from None


def _reports(sns_message_id: str, message: str) -> list[Report]:
    """The SES notification's bounced or complaining recipients, one report each."""
    content = json_of(message.encode("utf-8"))
    if not isinstance(content, dict):
        raise Malformed("the SNS Message is not a JSON object")
    kind_name = text(content.get("notificationType") or content.get("eventType"))
    mail = obj(content.get("mail"))
    message_id = text(obj(mail.get("commonHeaders")).get("messageId")) or _header(
        mail, "Message-ID"
    )
    source = text(mail.get("source")) or None
    if kind_name == "Bounce":
        details = content.get("bounce")
        field_name = "bouncedRecipients"
    elif kind_name == "Complaint":
        details = content.get("complaint")
        field_name = "complainedRecipients"
    else:
        return []
    if not isinstance(details, dict):
        raise Malformed(f"a {kind_name} notification without its details")
    if kind_name == "Complaint":
        if text(details.get("complaintFeedbackType")) == "not-spam":
            return []
        kind = ReportKind.COMPLAINT
        summary = f"Complaint {text(details.get('complaintFeedbackType'))}".strip()
    else:
        hard = text(details.get("bounceType")) == "Permanent"
        kind = ReportKind.HARD_BOUNCE if hard else ReportKind.SOFT_BOUNCE
        summary = f"{text(details.get('bounceType'))}/{text(details.get('bounceSubType'))}"
    recipients = details.get(field_name)
    if not isinstance(recipients, list):
        raise Malformed(f"no {field_name}")
    reports = []
    for index, recipient in enumerate(recipients):
        if not isinstance(recipient, dict):
            continue
        evidence = joined(
            summary, text(recipient.get("status")), text(recipient.get("diagnosticCode"))
        )
        reports.append(
            Report(
                kind,
                SOURCE,
                f"{sns_message_id}#{index}",
                message_id=message_id or None,
                return_path=source,
                recipient=text(recipient.get("emailAddress")) or None,
                detail=evidence,
            )
        )
    return reports


def _header(mail: dict, name: str) -> str:
    """A header of the original message from the notification's ``mail.headers``."""
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and text(header.get("name")).lower() == name.lower():
            return text(header.get("value"))
    return ""
