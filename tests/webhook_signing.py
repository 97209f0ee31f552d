"""The providers' side of the webhook tests: keys and certificates made here, calls signed
as each provider documents (no network: SNS's certificate is served by ``SnsHost``)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:eu-central-1:123456789012:ses-bounces"
CERT_URL = (
    "https://sns.eu-central-1.amazonaws.com/"
    "SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)
SUBSCRIBE_URL = (
    "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425f004aed6b3a4b"
)
SNS_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}


def _certificate(key: rsa.RSAPrivateKey, name: str) -> bytes:
    """A self-signed certificate for ``key``, valid from yesterday to tomorrow."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


class SnsHost:
    """SNS's HTTPS hosts as the app's ``HTTP_FETCH`` sees them: the signing certificate
    at ``CERT_URL``, the subscription confirmation at any SubscribeURL; every URL asked
    for is kept."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = _certificate(self.key, "sns.amazonaws.com")
        self.fetched: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if url == CERT_URL:
            return self.pem
        if "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        raise OSError("not found")

    def sign(self, message: dict, version: str = "1", key: rsa.RSAPrivateKey | None = None):
        """``message`` with SigningCertURL, SignatureVersion and Signature, as SNS sends it."""
        message = {"SignatureVersion": version, "SigningCertURL": CERT_URL, **message}
        signed = "".join(
            f"{name}\n{message[name]}\n" for name in SNS_SIGNED[message["Type"]] if name in message
        ).encode()
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(signed, padding.PKCS1v15(), digest)
        message["Signature"] = base64.b64encode(signature).decode()
        return message


def sns_notification(ses_message: dict, message_id: str = "f0a9c4b2-1d67-5e0e-9d6a-0c5f3d2e7b11"):
    """An SNS Notification carrying SES's JSON (fields per the SNS HTTP(S) docs)."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(ses_message),
        "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "UnsubscribeURL": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe",
    }


def ses_bounce(message, recipient: str, bounce_type: str = "Permanent") -> dict:
    """SES's "Bounce notification with a DSN" example (docs.aws.amazon.com/ses/latest/dg/
    notification-examples.html), about ``message`` as received."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "reportingMTA": "dns; email.example.com",
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "status": "5.1.1",
                    "action": "failed",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{recipient}>... User",
                }
            ],
            "bounceSubType": "General",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": {
            "timestamp": "2016-01-27T14:59:38.237Z",
            "source": message["X-Envelope-From"],
            "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
            "sourceIp": "127.0.3.0",
            "sendingAccountId": "123456789012",
            "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
            "destination": [recipient],
            "headersTruncated": False,
            "headers": [{"name": "Message-ID", "value": message["Message-ID"]}],
            "commonHeaders": {
                "from": [str(message["From"])],
                "to": [recipient],
                "messageId": message["Message-ID"],
                "subject": str(message["Subject"]),
            },
        },
    }


def ses_complaint(message, recipient: str) -> dict:
    """SES's "Complaint notification with a feedback report" example, about ``message``."""
    return {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2016-01-27T14:59:38.237Z",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        },
        "mail": {
            "source": message["X-Envelope-From"],
            "commonHeaders": {"messageId": message["Message-ID"]},
        },
    }


def mailgun_call(key: str, event: dict, token: str = "", timestamp: int | None = None):
    """A Mailgun webhook body: ``signature`` (HMAC-SHA256 of timestamp + token) and
    ``event-data`` (documentation.mailgun.com, Securing Webhooks, Webhook Payloads)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or hashlib.sha256(json.dumps(event).encode() + stamp.encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": stamp, "token": token, "signature": signature},
        "event-data": event,
    }


def mailgun_failed(message, recipient: str, severity: str = "permanent") -> dict:
    """The "failed" event of Mailgun's payload examples, about ``message``."""
    return {
        "id": "G9Bn5sl1TC6nu79C8C0bwg" + severity[:2],
        "timestamp": 1521233195.375624,
        "log-level": "error",
        "event": "failed",
        "severity": severity,
        "reason": "suppress-bounce" if severity == "permanent" else "generic",
        "envelope": {
            "sender": message["X-Envelope-From"],
            "transport": "smtp",
            "targets": recipient,
        },
        "flags": {"is-routed": False, "is-authenticated": True, "is-test-mode": False},
        "recipient-domain": recipient.partition("@")[2],
        "message": {
            "headers": {
                "to": recipient,
                "message-id": message["Message-ID"].strip("<>"),
                "from": str(message["From"]),
                "subject": str(message["Subject"]),
            },
            "size": 111,
        },
        "recipient": recipient,
        "delivery-status": {
            "attempt-no": 1,
            "message": "",
            "code": 605,
            "description": "Not delivering to previously bounced address",
            "session-seconds": 0.0,
        },
    }


class SendGridSigner:
    """SendGrid's Signed Event Webhook: an ECDSA P-256 key pair; the verification key as
    the dashboard shows it (base64 DER)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The signature of timestamp + body, and the timestamp, as headers."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def sendgrid_events(message, recipient: str) -> list[dict]:
    """A bounce and a spam report shaped as SendGrid's Event Webhook reference shows them,
    plus a delivered event (ignored), about ``message``."""
    base = {
        "email": recipient,
        "timestamp": 1513299569,
        "smtp-id": message["Message-ID"],
        "category": "cat facts",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    }
    return [
        {**base, "event": "delivered", "response": "250 OK", "sg_event_id": "ZGVsaXZlcmVk"},
        {
            **base,
            "event": "bounce",
            "type": "bounce",
            "status": "5.0.0",
            "reason": "500 unknown recipient",
            "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
        },
    ]
