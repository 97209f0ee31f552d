"""Outgoing webhooks, against a real HTTP receiver started by each test: events signed per
Standard Webhooks (verified with the ``standardwebhooks`` package), retried after a 500
and a dropped connection, at least once with a stable ``webhook-id`` when a worker dies
mid-request, an endpoint disabled after the failure window, and an erasure's event
without the address."""

import json
import re
import signal
import ssl
import subprocess
from datetime import timedelta

import pytest
import trustme
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import OutboxStatus
from newsletter.webhooks.models import WebhookDelivery
from newsletter.webhooks.models import WebhookEndpoint
from newsletter.webhooks.sender import WebhookSender
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.test_erasure import erase_through_admin
from tests.test_erasure import public_id_of
from tests.test_erasure import traces
from tests.webhook_receiver import DROP
from tests.webhook_receiver import HOLD
from tests.webhook_receiver import Receiver
from tests.workers import NEWSLETTER
from tests.workers import worker_environment

READER = "reader@example.com"
SECRET_LINE = re.compile(r"Secret \(.*\): (whsec_\S+)")


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    """Webhooks may go to this machine over http (the receiver); retries are due at once."""
    settings.update(WEBHOOK_ALLOW_LOOPBACK=True, WEBHOOK_RETRY_BASE_SECONDS=0)
    return settings


def add_endpoint(runner, url: str) -> str:
    """Register ``url`` for the seed newsletter with the CLI; returns its secret."""
    result = runner.invoke(args=["webhooks", "add", "--newsletter", SLUG, url])
    assert result.exit_code == 0, result.output
    return SECRET_LINE.search(result.output).group(1)


def verified(secret: str, received) -> dict:
    """The event, once its signature verifies as a receiver checks it."""
    return Webhook(secret).verify(received.body, received.headers)


def endpoint_row(app) -> WebhookEndpoint:
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(select(WebhookEndpoint)).one()


def deliveries(app) -> list[WebhookDelivery]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_each_status_change_is_delivered_signed(app, client, runner, mailbox):
    with Receiver() as receiver:
        secret = add_endpoint(runner, receiver.url)
        assert sign_up(client, READER).status_code == 303
        deliver(runner)
        client.post(link_path(mailbox.messages[0], "/confirm/"))
        deliver(runner)
        client.post(link_path(mailbox.messages[1], "/unsubscribe/"))
        deliver(runner)
        received = receiver.requests()
    events = [verified(secret, request) for request in received]
    assert [event["type"] for event in events] == [
        "subscription.pending",
        "subscription.confirmed",
        "subscription.unsubscribed",
    ]
    for event in events:
        assert event["data"]["newsletter"] == SLUG
        assert event["data"]["email"] == READER
    assert [event["data"]["status"] for event in events] == ["pending", "confirmed", "unsubscribed"]
    assert len({request.headers["webhook-id"] for request in received}) == 3
    # A body changed on the way, or signed with another secret, does not verify.
    forged = received[0].body.replace(b"pending", b"confirmed")
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(forged, received[0].headers)


def test_retries_after_a_500_and_a_dropped_connection(app, client, runner):
    with Receiver(500, DROP) as receiver:
        secret = add_endpoint(runner, receiver.url)
        sign_up(client, READER)
        deliver(runner)
        endpoint = endpoint_row(app)
        assert (endpoint.last_status, endpoint.last_error) == (
            500,
            "HTTP 500 Internal Server Error",
        )
        deliver(runner)
        endpoint = endpoint_row(app)
        assert endpoint.last_status is None
        assert "RemoteDisconnected" in endpoint.last_error
        listed = runner.invoke(args=["webhooks", "list"]).output.split("\t")
        assert listed[3] == "enabled" and "RemoteDisconnected" in listed[6]
        deliver(runner)
        received = receiver.requests()
    assert len(received) == 3
    assert len({request.headers["webhook-id"] for request in received}) == 1
    assert len({request.body for request in received}) == 1
    assert verified(secret, received[-1])["type"] == "subscription.pending"
    endpoint = endpoint_row(app)
    assert (endpoint.last_status, endpoint.last_error, endpoint.failing_since) == (200, None, None)
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == (OutboxStatus.SENT, 3)


def test_a_worker_killed_mid_request_leaves_the_event_to_another_with_the_same_id(
    app, client, runner, tmp_path
):
    with Receiver(HOLD) as receiver:
        secret = add_endpoint(runner, receiver.url)
        sign_up(client, READER)
        worker = subprocess.Popen(
            [str(NEWSLETTER), "worker"],
            env=worker_environment(app, tmp_path / "worker", WEBHOOK_ALLOW_LOOPBACK="true"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert receiver.held.wait(60), "the worker never sent the event"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        [claimed] = deliveries(app)
        assert claimed.status is OutboxStatus.SENDING
        # Another worker, once the dead one's lease has run out.
        sender = WebhookSender.for_app(app)
        assert sender.deliver_batch(now=utcnow()) == 0  # the lease still holds
        later = claimed.claimed_until + timedelta(seconds=1)
        assert sender.deliver_batch(now=later) == 1
        assert sender.deliver_batch(now=later) == 0
        received = receiver.requests()
    assert len(received) == 2
    assert {request.headers["webhook-id"] for request in received} == {claimed.webhook_id}
    assert verified(secret, received[1])["data"]["email"] == READER
    assert deliveries(app)[0].status is OutboxStatus.SENT


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_events_wait(app, client, runner):
    with Receiver(500, 500, 500, 500) as receiver:
        add_endpoint(runner, receiver.url)
        sign_up(client, READER)
        runner.invoke(args=["worker", "--once"])
        start = endpoint_row(app).failing_since
        assert start is not None
        sender = WebhookSender.for_app(app)
        assert sender.deliver_batch(now=start + timedelta(hours=23)) == 1
        assert endpoint_row(app).disabled_at is None
        assert sender.deliver_batch(now=start + timedelta(hours=24, seconds=1)) == 1
        endpoint = endpoint_row(app)
        assert endpoint.disabled_at == start + timedelta(hours=24, seconds=1)
        # Disabled: nothing more is sent, and new events wait for it.
        assert sender.deliver_batch(now=start + timedelta(hours=30)) == 0
        assert len(receiver.requests()) == 3
        listed = runner.invoke(args=["webhooks", "list"]).output.split("\t")
        assert listed[3] == "disabled" and listed[5] == "500" and listed[7].strip() == "1"
        # Enabled again by hand, it gets what it missed.
        assert runner.invoke(args=["webhooks", "enable", str(endpoint.id)]).exit_code == 0
        assert sender.deliver_batch(now=start + timedelta(hours=31)) == 1
        assert endpoint_row(app).last_status == 500
        assert sender.deliver_batch(now=start + timedelta(hours=32)) == 1
        assert endpoint_row(app).last_status == 200
        assert len(receiver.requests()) == 5


def test_an_erasure_event_names_no_address_and_the_address_leaves_the_queue(
    app, client, runner, mailbox
):
    with Receiver() as receiver:
        secret = add_endpoint(runner, receiver.url)
        sign_up(client, READER)
        deliver(runner)
        public_id = public_id_of(app, READER)
        # One more event waits (the confirmation) when the reader is erased.
        client.post(link_path(mailbox.messages[0], "/confirm/"))
        erase_through_admin(app, runner, public_id)
        deliver(runner)
        received = receiver.requests()
    events = [verified(secret, request) for request in received]
    assert [event["type"] for event in events] == ["subscription.pending", "subscription.erased"]
    assert events[1]["data"] == {"newsletter": SLUG, "subscription": public_id}
    assert b"@" not in received[1].body
    assert traces(app, READER) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://crm.example.com/hooks",
        "ftp://crm.example.com/hooks",
        "https://user:password@crm.example.com/hooks",
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hooks",
        "https://localhost/hooks",
        "https://crm.example.com:99999/hooks",
        "https://",
        "not a url",
        "https://crм.example.org/hooks",
    ],
)
def test_a_url_we_would_not_send_to_is_refused_and_nothing_stored(app, runner, url, settings):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    result = runner.invoke(args=["webhooks", "add", "--newsletter", SLUG, url])
    assert result.exit_code == 1
    assert "Error: The URL" in result.output or "Error: Enter a URL" in result.output
    assert runner.invoke(args=["webhooks", "list"]).output == ""


def test_test_and_remove(app, runner):
    with Receiver() as receiver:
        secret = add_endpoint(runner, receiver.url)
        endpoint = endpoint_row(app)
        assert runner.invoke(args=["webhooks", "test", str(endpoint.id)]).exit_code == 0
        deliver(runner)
        [request] = receiver.requests()
    assert verified(secret, request) == {
        "type": "webhook.test",
        "timestamp": json.loads(request.body)["timestamp"],
        "data": {"newsletter": SLUG},
    }
    assert runner.invoke(args=["webhooks", "remove", str(endpoint.id)]).exit_code == 0
    assert runner.invoke(args=["webhooks", "list"]).output == ""
    assert deliveries(app) == []
    assert runner.invoke(args=["webhooks", "remove", "99"]).exit_code == 1


# --- The admin page ------------------------------------------------------------------------


def webhooks_page(editor) -> str:
    page = editor.get(f"/admin/newsletters/{SLUG}/webhooks")
    assert page.status_code == 200
    return page.text


def test_an_editor_adds_tests_disables_and_removes_an_endpoint(app, client, runner):
    editor = signed_in_client(app, runner)
    token = page_csrf_token(webhooks_page(editor))
    path = f"/admin/newsletters/{SLUG}/webhooks"
    refused = editor.post(path, data={"url": "http://10.0.0.8/hooks", "csrf_token": token})
    assert refused.status_code == 422
    assert "The URL must start with https://" in refused.text
    assert runner.invoke(args=["webhooks", "list"]).output == ""
    too_long = "https://crm.example.org/" + "x" * 2100  # refused whole, not cut to fit
    assert editor.post(path, data={"url": too_long, "csrf_token": token}).status_code == 422
    assert runner.invoke(args=["webhooks", "list"]).output == ""
    assert editor.post(path, data={"url": "https://crm.example.org/x"}).status_code == 400
    with Receiver(500) as receiver:
        added = editor.post(path, data={"url": receiver.url, "csrf_token": token})
        assert added.status_code == 201
        secret = re.search(r"whsec_[A-Za-z0-9+/=]+", added.text).group(0)
        endpoint = endpoint_row(app)
        assert endpoint.secret == secret
        assert secret not in webhooks_page(editor)  # shown once
        action = f"{path}/{endpoint.id}"
        assert editor.post(f"{action}/test", data={"csrf_token": token}).status_code == 303
        deliver(runner)
        page = webhooks_page(editor)
        assert "HTTP 500 Internal Server Error" in page and "webhook.test" in page
        deliver(runner)
        assert verified(secret, receiver.requests()[-1])["type"] == "webhook.test"
        assert editor.post(f"{action}/disable", data={"csrf_token": token}).status_code == 303
        assert "disabled since" in webhooks_page(editor)
        assert editor.post(f"{action}/enable", data={"csrf_token": token}).status_code == 303
        assert "disabled since" not in webhooks_page(editor)
    for wrong in (f"{path}/{endpoint.id}/explode", f"{path}/{endpoint.id + 1}/remove"):
        assert editor.post(wrong, data={"csrf_token": token}).status_code == 404
    assert editor.post(f"{action}/remove", data={"csrf_token": token}).status_code == 303
    assert deliveries(app) == []
    assert receiver.url not in webhooks_page(editor)


def test_another_newsletters_endpoint_is_not_found_from_this_one(app, runner):
    add_endpoint(runner, "http://127.0.0.1:9/hooks")
    create = ["newsletters", "create", "--slug", "other", "--name", "Other"]
    assert runner.invoke(args=create).exit_code == 0
    editor = signed_in_client(app, runner)
    token = page_csrf_token(webhooks_page(editor))
    endpoint = endpoint_row(app)
    removal = f"/admin/newsletters/other/webhooks/{endpoint.id}/remove"
    assert editor.post(removal, data={"csrf_token": token}).status_code == 404
    assert endpoint_row(app).id == endpoint.id


def test_an_address_we_do_not_send_to_is_refused_when_the_name_resolves(app, client, runner):
    """Registered while this machine was allowed (a test set-up); the operator then turns
    it off: the sender checks the address it resolved, each time, and sends nothing."""
    with Receiver() as receiver:
        add_endpoint(runner, receiver.url.replace("127.0.0.1", "localhost"))
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
        sign_up(client, READER)
        deliver(runner)
        assert receiver.requests() == []
    error = endpoint_row(app).last_error
    assert error.startswith("localhost resolves to ") and error.endswith(", where we send nothing")
    assert deliveries(app)[0].status is OutboxStatus.QUEUED


@pytest.mark.parametrize("certified", ["localhost", "crm.example.org"])
def test_https_delivery_checks_the_receivers_certificate(
    app, client, runner, tmp_path, monkeypatch, certified
):
    """Over TLS to the name in the URL (its certificate, SNI), although the connection goes
    to the address checked: a certificate for another name is refused."""
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(certified).configure_cert(tls)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    # The operator's way to trust a private CA (README), here the test's.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    with Receiver(tls=tls) as receiver:
        secret = add_endpoint(runner, receiver.url)
        sign_up(client, READER)
        deliver(runner)
        received = receiver.requests()
    endpoint = endpoint_row(app)
    if certified == "localhost":
        [request] = received
        assert verified(secret, request)["type"] == "subscription.pending"
        assert (endpoint.last_status, endpoint.last_error) == (200, None)
    else:
        assert received == []
        assert "SSLCertVerificationError" in endpoint.last_error
