"""Signups in two steps: the request records the signup, the worker applies it.

The request does the same work whatever the address's state, so its duration tells an
attacker nothing (``newsletter.signup_requests``); the worker subscribes, renders and
queues the confirmation, exactly once, keeping the time the reader signed up.
"""

from sqlalchemy import select

from newsletter import newsletters
from newsletter import signup_requests
from newsletter.db import database
from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions import Evidence
from tests.admin_steps import mailed_link
from tests.conftest import postgresql_only
from tests.reader import SLUG
from tests.reader import count
from tests.reader import deliver
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.workers import run_workers

ARTICLE = "https://news.example.org/2026/why-it-matters"
STATES = {
    "pending": "pending@example.com",
    "confirmed": "confirmed@example.com",
    "unsubscribed": "unsubscribed@example.com",
}


def signup_requests_stored(app) -> list[SignupRequest]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(SignupRequest).order_by(SignupRequest.id)))


def stored_state(app) -> tuple:
    """Everything a signup could change once applied: subscriptions, outbox, history."""
    rows = [
        (row.email, row.status, row.signup_at, row.confirmation_round, row.confirmation_sent_at)
        for row in subscriptions(app)
    ]
    return rows, count(app, OutboxMessage), count(app, SubscriptionEvent)


def test_a_signup_is_recorded_at_once_and_applied_by_the_worker(app, client, runner, mailbox):
    client.environ_base.update(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Reader/1.0")
    response = sign_up(client, "Olena@Example.com", Referer=ARTICLE)
    assert response.status_code == 303

    # Answered, and durable: the signup waits in the database with its evidence.
    [recorded] = signup_requests_stored(app)
    assert recorded.email == "Olena@example.com"
    assert (recorded.ip, recorded.user_agent) == ("203.0.113.9", "Reader/1.0")
    assert (recorded.source, recorded.source_url) == ("web", ARTICLE)
    assert subscriptions(app) == []
    assert count(app, OutboxMessage) == 0
    assert mailbox.messages == []

    deliver(runner)

    [subscription] = subscriptions(app)
    assert subscription.email == "Olena@example.com"
    assert subscription.status is SubscriptionStatus.PENDING
    assert (subscription.signup_ip, subscription.signup_user_agent) == ("203.0.113.9", "Reader/1.0")
    assert (subscription.source, subscription.source_url) == ("web", ARTICLE)
    # The evidence keeps when the reader signed up, not when the worker got to it.
    assert subscription.signup_at == recorded.received_at
    assert subscription.created_at == recorded.received_at
    with app.app_context(), database(app).transaction() as session:
        [event] = session.scalars(select(SubscriptionEvent))
        assert (event.kind, event.occurred_at) == ("signup", recorded.received_at)
    [confirmation] = mailbox.messages
    assert confirmation["X-Envelope-To"] == "Olena@example.com"
    assert signup_requests_stored(app) == []


def test_the_request_stores_the_same_for_every_state_of_the_address(app, client, runner, mailbox):
    """New, pending, confirmed or unsubscribed: the request adds one signup request, and
    changes nothing else until the worker runs."""
    for address in STATES.values():
        assert sign_up(client, address).status_code == 303
    deliver(runner)
    for address in (STATES["confirmed"], STATES["unsubscribed"]):
        assert client.post(mailed_link(mailbox, address, "/confirm/")).status_code == 303
    deliver(runner)
    unsubscribe_path = mailed_link(mailbox, STATES["unsubscribed"], "/unsubscribe/")
    assert client.post(unsubscribe_path).status_code == 200
    assert [row.status.value for row in subscriptions(app)] == list(STATES)
    before = stored_state(app)

    addresses = [*STATES.values(), "new@example.com"]
    for address in addresses:
        assert sign_up(client, address).status_code == 303

    assert [row.email for row in signup_requests_stored(app)] == addresses
    assert stored_state(app) == before


@postgresql_only  # concurrent workers are a PostgreSQL deployment
def test_two_workers_apply_each_signup_exactly_once(app, mailbox, database_url, tmp_path):
    """Two ``newsletter worker --once`` processes share 300 recorded signups on PostgreSQL.

    With no resend interval, applying a signup twice would queue a second confirmation:
    the batches are taken ``FOR UPDATE SKIP LOCKED``, so each is applied once.
    """
    total = 300
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        for number in range(total):
            signup_requests.record(
                session, [newsletter], f"reader{number}@example.com", Evidence(ip="203.0.113.5")
            )

    run_workers(app, tmp_path / "worker-instance", CONFIRMATION_RESEND_INTERVAL="0")

    addresses = {f"reader{number}@example.com" for number in range(total)}
    assert signup_requests_stored(app) == []
    assert {row.email for row in subscriptions(app)} == addresses
    with app.app_context(), database(app).transaction() as session:
        recipients = list(session.scalars(select(OutboxMessage.recipient)))
    assert sorted(recipients) == sorted(addresses)
    assert sorted(message["X-Envelope-To"] for message in mailbox.messages) == sorted(addresses)
