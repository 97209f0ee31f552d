"""``/manage`` without a token: ask for the manage link by address, get it by email.

The answer, and the request's work, are the same for every address: the request records
the address, the worker mails a link to a reader and to nobody else. Throttled like
signups, per address and per network.
"""

import pytest
from sqlalchemy import select

from newsletter import create_app
from newsletter import newsletters
from newsletter.db import database
from newsletter.models import ManageLinkRequest
from newsletter.models import OutboxMessage
from tests.reader import count
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.test_erasure import erase_through_admin
from tests.test_erasure import public_id_of

READER = "reader@example.com"
STRANGER = "stranger@example.com"


def ask_for_link(client, email: str, **environ):
    """Open ``/manage``, fill in the address, send; the POST's response."""
    page = client.get("/manage")
    assert page.status_code == 200
    return client.post(
        "/manage",
        data={"email": email, "csrf_token": csrf_token(page.text)},
        environ_base=environ,
    )


@pytest.fixture
def reader(client, runner, mailbox) -> str:
    """A reader with one (pending) subscription; their confirmation already delivered."""
    assert sign_up(client, READER).status_code == 303
    deliver(runner)
    mailbox.clear()
    return READER


def stored_requests(app) -> list[str]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(ManageLinkRequest.email_key)))


def test_the_manage_link_goes_to_a_known_address_only_and_the_answer_is_the_same(
    app, client, runner, mailbox, reader
):
    answers = [ask_for_link(client, email) for email in (READER, STRANGER)]
    assert [answer.status_code for answer in answers] == [303, 303]
    assert answers[0].location == answers[1].location == "/manage/sent"
    assert answers[0].data == answers[1].data
    sent_page = client.get("/manage/sent")
    assert "Check your inbox" in shown_text(sent_page.text)

    # The request did the same work for both: one row each, nothing else yet.
    assert stored_requests(app) == [READER, STRANGER]
    assert count(app, OutboxMessage) == 1  # the reader's confirmation, from before

    deliver(runner)
    [message] = mailbox.messages
    assert message["To"] == READER
    assert message["Subject"] == "Your subscriptions"
    assert "List-Unsubscribe" not in message
    assert stored_requests(app) == []
    page = client.get(link_path(message, "/manage/"))
    assert page.status_code == 200
    assert READER in shown_text(page.text)


def test_the_manage_link_form_is_plain_and_answers_a_typo(client):
    page = client.get("/manage")
    assert 'name="email"' in page.text and "<script" not in page.text.lower()
    refused = client.post(
        "/manage", data={"email": "not an address", "csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text


def test_the_manage_link_form_needs_its_csrf_token(app, client):
    refused = client.post("/manage", data={"email": READER})
    assert refused.status_code == 400
    assert 'name="csrf_token"' in refused.text  # the form again, with a fresh token
    assert stored_requests(app) == []


def test_a_filled_honeypot_gets_the_same_answer_and_records_nothing(app, client):
    page = client.get("/manage")
    answer = client.post(
        "/manage",
        data={"email": READER, "website": "x", "csrf_token": csrf_token(page.text)},
    )
    assert (answer.status_code, answer.location) == (303, "/manage/sent")
    assert stored_requests(app) == []


def test_erasure_forgets_manage_link_requests(app, client, runner, mailbox, reader):
    ask_for_link(client, READER)
    erase_through_admin(app, runner, public_id_of(app, READER))
    assert stored_requests(app) == []
    deliver(runner)
    assert [message["To"] for message in mailbox.messages] == []


@pytest.fixture
def limited_app(settings):
    app = create_app(
        settings | {"ADDRESS_RATE_LIMIT": "2 per hour", "SIGNUP_RATE_LIMIT": "3 per minute"}
    )
    with app.app_context(), database(app).transaction() as session:
        newsletters.seed_default(session)
    yield app
    database(app).engine.dispose()


def test_manage_link_requests_are_throttled_per_address(limited_app):
    client = limited_app.test_client()
    for network in ("192.0.2.1", "192.0.2.2"):
        assert ask_for_link(client, READER, REMOTE_ADDR=network).status_code == 303
    refused = ask_for_link(client, "Reader+again@example.com", REMOTE_ADDR="192.0.2.3")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert len(stored_requests(limited_app)) == 2


def test_manage_link_requests_share_the_signup_budget_per_network(limited_app):
    client = limited_app.test_client()
    assert sign_up(client, "one@example.com").status_code == 303
    assert ask_for_link(client, "two@example.com").status_code == 303
    assert ask_for_link(client, "three@example.com").status_code == 303
    assert ask_for_link(client, "four@example.com").status_code == 429
    assert sign_up(client, "five@example.com").status_code == 429
    assert len(stored_requests(limited_app)) == 2
    assert len(subscriptions(limited_app)) == 0  # the signup waits for the worker
