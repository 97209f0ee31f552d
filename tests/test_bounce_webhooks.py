"""``POST /webhooks/bounces/<provider>``: for Amazon SES (via SNS), Postmark, Mailgun and
SendGrid, a valid call applies its report; a forged one (bad signature, wrong credentials,
another certificate host or topic, too old) gets 401 and changes nothing; a replay is
refused or changes nothing; a report about no message of ours is acknowledged and ignored.
Payloads follow each provider's documented examples (see tests/webhook_signing.py)."""

import base64
import json
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.models import EventKind
from tests.bounce_steps import READER
from tests.bounce_steps import confirmed_reader
from tests.bounce_steps import events
from tests.bounce_steps import state
from tests.reader import SLUG
from tests.test_garbage_bodies import stored
from tests.test_garbage_bodies import throw_garbage
from tests.webhook_signing import SUBSCRIBE_URL
from tests.webhook_signing import TOPIC
from tests.webhook_signing import SendGridSigner
from tests.webhook_signing import SnsHost
from tests.webhook_signing import mailgun_call
from tests.webhook_signing import mailgun_failed
from tests.webhook_signing import sendgrid_events
from tests.webhook_signing import ses_bounce
from tests.webhook_signing import ses_complaint
from tests.webhook_signing import sns_notification

PROVIDERS = ("ses", "postmark", "mailgun", "sendgrid")
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
POSTMARK_AUTH = "postmark:8f3b0c1e-webhook"
CONFIRMED = [(SLUG, "confirmed", False, 0)]
BOUNCED = [(SLUG, "bounced", False, 0)]


@pytest.fixture
def sns(settings) -> SnsHost:
    """SNS's hosts, and the app configured to take our topic (asked for before ``app``)."""
    host = SnsHost()
    settings.update(SES_TOPIC_ARNS=f"arn:aws:sns:us-east-1:1:other,{TOPIC}", HTTP_FETCH=host)
    return host


@pytest.fixture
def sendgrid(settings) -> SendGridSigner:
    signer = SendGridSigner()
    settings["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key
    return signer


@pytest.fixture
def providers(settings):
    """Postmark's credentials and Mailgun's key (asked for before ``app``)."""
    settings.update(POSTMARK_WEBHOOK_AUTH=POSTMARK_AUTH, MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY)


def post_sns(client, message: dict):
    # SNS posts JSON as text/plain, with its own headers.
    return client.post(
        "/webhooks/bounces/ses",
        data=json.dumps(message),
        headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": str(message.get("Type")),
            "User-Agent": "Amazon Simple Notification Service Agent",
        },
    )


# --- Amazon SES via SNS ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_bounce_with_either_signature_version(sns, app, client, runner, mailbox, version):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    message = sns.sign(sns_notification(ses_bounce(confirmation, READER)), version)
    response = post_sns(client, message)
    assert response.status_code == 200, response.json
    assert response.json == {"received": 1, "applied": 1}
    assert state(app) == BOUNCED
    [detail] = events(app, EventKind.BOUNCED)
    assert detail.startswith("ses: Permanent/General 5.1.1 smtp; 550 5.1.1")


def test_ses_complaint(sns, app, client, runner, mailbox):
    _, welcome = confirmed_reader(client, runner, mailbox)
    message = sns.sign(sns_notification(ses_complaint(welcome, READER)), "2")
    assert post_sns(client, message).status_code == 200
    assert state(app) == [(SLUG, "unsubscribed", True, 0)]


def test_ses_call_with_a_tampered_message_is_refused(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    other = ses_bounce(confirmation, READER)
    message = sns.sign(sns_notification(ses_bounce(confirmation, "someone@example.com")))
    message["Message"] = json.dumps(other)  # signed for another recipient
    response = post_sns(client, message)
    assert response.status_code == 401
    assert response.json["error"] == "unverified"
    assert state(app) == CONFIRMED


def test_ses_call_signed_by_another_key_is_refused(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = sns.sign(sns_notification(ses_bounce(confirmation, READER)), key=forger)
    assert post_sns(client, message).status_code == 401
    assert state(app) == CONFIRMED


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.eu-central-1.amazonaws.com.evil.example/cert.pem",
        "http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://evil.example/sns.eu-central-1.amazonaws.com/cert.pem",
        "https://sns.eu-central-1.amazonaws.com/cert.txt",
    ],
)
def test_ses_certificate_from_elsewhere_is_never_fetched(
    sns, app, client, runner, mailbox, cert_url
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    message = sns.sign(sns_notification(ses_bounce(confirmation, READER)))
    message["SigningCertURL"] = cert_url
    assert post_sns(client, message).status_code == 401
    assert sns.fetched == []
    assert state(app) == CONFIRMED


def test_ses_notification_of_another_topic_is_refused(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    notification = sns_notification(ses_bounce(confirmation, READER))
    notification["TopicArn"] = "arn:aws:sns:eu-central-1:999999999999:someone-elses"
    assert post_sns(client, sns.sign(notification)).status_code == 401
    assert state(app) == CONFIRMED


def test_ses_old_notification_is_refused(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    notification = sns_notification(ses_bounce(confirmation, READER))
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    notification["Timestamp"] = two_hours_ago.isoformat().replace("+00:00", "Z")
    assert post_sns(client, sns.sign(notification)).status_code == 401
    assert state(app) == CONFIRMED


def test_ses_redelivered_notification_changes_nothing(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    message = sns.sign(sns_notification(ses_bounce(confirmation, READER)))
    assert post_sns(client, message).json == {"received": 1, "applied": 1}
    again = post_sns(client, message)
    assert again.status_code == 200
    assert again.json == {"received": 1, "duplicate": 1}
    assert len(events(app, EventKind.BOUNCED)) == 1
    assert sns.fetched.count(message["SigningCertURL"]) == 1  # the certificate is kept


def test_ses_report_about_no_message_of_ours_is_ignored(sns, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    stranger = ses_bounce(confirmation, READER)
    stranger["mail"]["commonHeaders"]["messageId"] = "<unknown.1@elsewhere.example>"
    stranger["mail"]["source"] = "someone@elsewhere.example"
    response = post_sns(client, sns.sign(sns_notification(stranger)))
    assert response.status_code == 200
    assert response.json == {"received": 1, "unknown": 1}
    assert state(app) == CONFIRMED


def subscription_confirmation(subscribe_url: str) -> dict:
    """SNS's documented SubscriptionConfirmation fields (unsigned)."""
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e2425f004aed6b3a4b",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def test_ses_subscription_confirmation_visits_the_subscribe_url(sns, app, client):
    assert post_sns(client, sns.sign(subscription_confirmation(SUBSCRIBE_URL))).status_code == 200
    assert sns.fetched[-1] == SUBSCRIBE_URL


def test_ses_subscription_confirmation_elsewhere_is_not_visited(sns, app, client):
    elsewhere = "https://internal.example/admin?Action=ConfirmSubscription"
    assert post_sns(client, sns.sign(subscription_confirmation(elsewhere))).status_code == 401
    assert not any("internal.example" in url for url in sns.fetched)


def test_ses_refused_until_its_topics_are_configured(app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    message = SnsHost().sign(sns_notification(ses_bounce(confirmation, READER)))
    assert post_sns(client, message).status_code == 401
    assert state(app) == CONFIRMED


# --- Postmark -----------------------------------------------------------------------------


def postmark_bounce(message, recipient: str, bounce_type: str = "HardBounce") -> dict:
    """Postmark's bounce webhook example (postmarkapp.com/developer/webhooks/bounce-webhook),
    with "Include bounce content" on: the dump quotes our Message-ID."""
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "Test",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"a_key": "a_value"},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "Test bounce details",
        "Email": recipient,
        "From": "newsletter@example.org",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Test subject",
        "Content": f"Return-Path: <>\r\n...\r\nMessage-ID: {message['Message-ID']}\r\n...",
    }


def post_postmark(client, body: dict, credentials: str | None = POSTMARK_AUTH):
    headers = {}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    return client.post("/webhooks/bounces/postmark", json=body, headers=headers)


def test_postmark_hard_bounce(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    response = post_postmark(client, postmark_bounce(confirmation, READER))
    assert response.json == {"received": 1, "applied": 1}
    assert state(app) == BOUNCED
    assert events(app, EventKind.BOUNCED) == ["postmark: HardBounce Test bounce details"]


def test_postmark_spam_complaint(providers, app, client, runner, mailbox):
    _, welcome = confirmed_reader(client, runner, mailbox)
    complaint = postmark_bounce(welcome, READER, "SpamComplaint")
    complaint["RecordType"] = "SpamComplaint"
    assert post_postmark(client, complaint).status_code == 200
    assert state(app) == [(SLUG, "unsubscribed", True, 0)]


@pytest.mark.parametrize("credentials", [None, "postmark:wrong", "", "postmark:8f3b0c1e-webhoo"])
def test_postmark_without_the_credentials_is_refused(
    providers, app, client, runner, mailbox, credentials
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    response = post_postmark(client, postmark_bounce(confirmation, READER), credentials)
    assert response.status_code == 401
    assert state(app) == CONFIRMED


def test_postmark_repeated_call_changes_nothing(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = postmark_bounce(confirmation, READER, "SoftBounce")
    post_postmark(client, body)
    assert post_postmark(client, body).json == {"received": 1, "duplicate": 1}
    assert state(app) == [(SLUG, "confirmed", False, 1)]


def test_postmark_bounce_of_no_message_of_ours_is_ignored(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = postmark_bounce(confirmation, READER)
    body["Content"] = "Message-ID: <elsewhere@example.com>"
    assert post_postmark(client, body).json == {"received": 1, "unknown": 1}
    assert state(app) == CONFIRMED


# --- Mailgun ------------------------------------------------------------------------------


def test_mailgun_permanent_failure(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = mailgun_call(MAILGUN_KEY, mailgun_failed(confirmation, READER))
    response = client.post("/webhooks/bounces/mailgun", json=body)
    assert response.json == {"received": 1, "applied": 1}
    assert state(app) == BOUNCED


def test_mailgun_temporary_failure_is_a_soft_bounce(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = mailgun_call(MAILGUN_KEY, mailgun_failed(confirmation, READER, "temporary"))
    assert client.post("/webhooks/bounces/mailgun", json=body).status_code == 200
    assert state(app) == [(SLUG, "confirmed", False, 1)]


def test_mailgun_bad_signature_is_refused(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = mailgun_call("another key", mailgun_failed(confirmation, READER))
    assert client.post("/webhooks/bounces/mailgun", json=body).status_code == 401
    assert state(app) == CONFIRMED


def test_mailgun_reused_token_is_refused(providers, app, client, runner, mailbox):
    confirmation, welcome = confirmed_reader(client, runner, mailbox)
    first = mailgun_call(MAILGUN_KEY, mailgun_failed(welcome, READER, "temporary"))
    assert client.post("/webhooks/bounces/mailgun", json=first).status_code == 200
    # The same signed token with another event: a replay, however fresh its timestamp.
    replay = {**first, "event-data": mailgun_failed(confirmation, READER)}
    response = client.post("/webhooks/bounces/mailgun", json=replay)
    assert response.status_code == 401
    assert response.json["error"] == "replayed"
    assert state(app) == [(SLUG, "confirmed", False, 1)]


def test_mailgun_old_timestamp_is_refused(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    old = int(time.time()) - 2 * 3600
    body = mailgun_call(MAILGUN_KEY, mailgun_failed(confirmation, READER), timestamp=old)
    assert client.post("/webhooks/bounces/mailgun", json=body).status_code == 401
    assert state(app) == CONFIRMED


def test_mailgun_event_of_no_message_of_ours_is_ignored(providers, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    event = mailgun_failed(confirmation, READER)
    event["message"]["headers"]["message-id"] = "20130503182626.18666.16540@sandbox.mailgun.org"
    event["envelope"]["sender"] = "postmaster@sandbox.mailgun.org"
    body = mailgun_call(MAILGUN_KEY, event)
    assert client.post("/webhooks/bounces/mailgun", json=body).json == {
        "received": 1,
        "unknown": 1,
    }
    assert state(app) == CONFIRMED


def test_mailgun_body_that_is_not_json_is_a_bad_request(providers, client):
    response = client.post(
        "/webhooks/bounces/mailgun", data=b"\xff{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["error"] == "malformed"


# --- SendGrid -----------------------------------------------------------------------------


def post_sendgrid(client, signer: SendGridSigner, body: bytes, **signing):
    return client.post(
        "/webhooks/bounces/sendgrid", data=body, headers=signer.headers(body, **signing)
    )


def test_sendgrid_bounce(sendgrid, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = json.dumps(sendgrid_events(confirmation, READER)).encode()
    response = post_sendgrid(client, sendgrid, body)
    assert response.json == {"received": 1, "applied": 1}
    assert state(app) == BOUNCED
    assert events(app, EventKind.BOUNCED) == ["sendgrid: bounce bounce 5.0.0 500 unknown recipient"]


def test_sendgrid_spam_report(sendgrid, app, client, runner, mailbox):
    _, welcome = confirmed_reader(client, runner, mailbox)
    report = {
        "email": READER,
        "timestamp": 1513299569,
        "smtp-id": welcome["Message-ID"],
        "event": "spamreport",
        "sg_event_id": "c3BhbXJlcG9ydA==",
    }
    assert post_sendgrid(client, sendgrid, json.dumps([report]).encode()).status_code == 200
    assert state(app) == [(SLUG, "unsubscribed", True, 0)]


def test_sendgrid_tampered_body_is_refused(sendgrid, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = json.dumps(sendgrid_events(confirmation, READER)).encode()
    headers = sendgrid.headers(b"[]")
    response = client.post("/webhooks/bounces/sendgrid", data=body, headers=headers)
    assert response.status_code == 401
    assert state(app) == CONFIRMED


def test_sendgrid_unsigned_call_is_refused(sendgrid, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    response = client.post("/webhooks/bounces/sendgrid", json=sendgrid_events(confirmation, READER))
    assert response.status_code == 401
    assert state(app) == CONFIRMED


def test_sendgrid_old_signature_is_refused(sendgrid, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    body = json.dumps(sendgrid_events(confirmation, READER)).encode()
    old = int(time.time()) - 2 * 3600
    assert post_sendgrid(client, sendgrid, body, timestamp=old).status_code == 401
    assert state(app) == CONFIRMED


def test_sendgrid_replayed_batch_changes_nothing(sendgrid, app, client, runner, mailbox):
    _, welcome = confirmed_reader(client, runner, mailbox)
    events_ = sendgrid_events(welcome, READER)
    events_[1]["type"] = "blocked"  # a soft bounce: a second count would show
    body = json.dumps(events_).encode()
    post_sendgrid(client, sendgrid, body)
    assert post_sendgrid(client, sendgrid, body).json == {"received": 1, "duplicate": 1}
    assert state(app) == [(SLUG, "confirmed", False, 1)]


def test_sendgrid_event_of_no_message_of_ours_is_ignored(sendgrid, app, client, runner, mailbox):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    events_ = sendgrid_events(confirmation, READER)
    events_[1]["smtp-id"] = "<14c5d75ce93.dfd.64b469@ismtpd-555>"
    body = json.dumps(events_).encode()
    assert post_sendgrid(client, sendgrid, body).json == {"received": 1, "unknown": 1}
    assert state(app) == CONFIRMED


# --- All of them ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_is_refused_until_configured(app, client, provider):
    response = client.post(f"/webhooks/bounces/{provider}", json={"anything": 1})
    assert response.status_code in (400, 401)
    assert response.is_json


def test_an_unknown_provider_is_not_found(app, client):
    response = client.post("/webhooks/bounces/sparkpost", json={})
    assert response.status_code == 404
    assert response.is_json


@pytest.fixture
def two_calls_a_minute(settings):
    settings["WEBHOOK_RATE_LIMIT"] = "2 per minute"


def test_webhooks_have_a_rate_limit_of_their_own(two_calls_a_minute, providers, app, client):
    answers = [post_postmark(client, {"RecordType": "Delivery"}).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_garbage_to_configured_webhooks_is_a_json_4xx_and_changes_nothing(
    sns, sendgrid, providers, app, client
):
    before = stored(app)
    paths = {f"/webhooks/bounces/{name}": {"POST"} for name in PROVIDERS}
    problems = throw_garbage(client, paths)
    assert not problems, "\n".join(problems[:40])
    assert stored(app) == before


def test_sns_messages_of_every_shape_are_a_4xx_not_a_500(sns, app, client):
    shapes = [
        {},
        {"Type": "Notification"},
        {"Type": "Notification", "TopicArn": TOPIC, "SignatureVersion": 2},
        {"Type": "Notification", "TopicArn": TOPIC, "SignatureVersion": "1", "Signature": "%%"},
        sns.sign({**sns_notification({}), "Message": "not json"}),
        sns.sign({**sns_notification({}), "Message": "[1, 2]"}),
        sns.sign(sns_notification({"notificationType": "Bounce", "bounce": []})),
        sns.sign(sns_notification({"notificationType": "Bounce", "bounce": {}})),
    ]
    answers = [post_sns(client, shape).status_code for shape in shapes]
    assert answers == [401, 401, 401, 401, 400, 400, 400, 400]


def test_a_batch_larger_than_a_form_is_taken_up_to_its_own_cap(sendgrid, app, client):
    batch = json.dumps([{"event": "delivered", "email": "a@example.com"}] * 3000).encode()
    assert 64 * 1024 < len(batch) < 1024 * 1024
    assert post_sendgrid(client, sendgrid, batch).json == {"received": 0}
    too_large = b"[" + b" " * (1024 * 1024) + b"]"
    assert post_sendgrid(client, sendgrid, too_large).status_code == 413
