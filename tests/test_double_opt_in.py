"""The whole journey: sign up, receive the email, confirm, get the welcome, unsubscribe."""

from newsletter.models import OutboxMessage
from newsletter.models import SubscriptionStatus
from tests.reader import SENT_TO_READER
from tests.reader import count
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.reader import text_part


def test_signup_confirm_and_welcome(app, client, runner, mailbox):
    response = sign_up(client, "reader@example.com")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/newsletters/explaining-ukraine/subscribed?sent_to=")

    thanks = client.get(location)
    assert "Successfully subscribed" in thanks.text
    assert SENT_TO_READER in shown_text(thanks.text)
    assert subscriptions(app) == []  # the request only records the signup
    assert mailbox.messages == []  # nothing is sent inside the request

    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.status is SubscriptionStatus.PENDING
    [confirmation] = mailbox.messages
    assert confirmation["To"] == "reader@example.com"
    assert confirmation["X-Envelope-To"] == "reader@example.com"
    assert "Explaining Ukraine with Kate Tsurkan" in confirmation["Subject"]
    assert "If you did not sign up" in text_part(confirmation)
    confirm_path = link_path(confirmation, "/confirm/")
    assert confirm_path in html_part(confirmation)

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm subscription" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert subscriptions(app)[0].status is SubscriptionStatus.PENDING

    confirmed = client.post(confirm_path, headers={"User-Agent": "Reader's browser"})
    assert confirmed.status_code == 303
    assert "Subscription confirmed" in client.get(confirmed.headers["Location"]).text
    [subscription] = subscriptions(app)
    assert subscription.status is SubscriptionStatus.CONFIRMED
    assert subscription.confirmed_at is not None
    assert subscription.confirmed_ip == "127.0.0.1"
    assert subscription.confirmed_user_agent == "Reader's browser"

    deliver(runner)
    welcome = mailbox.messages[1]
    unsubscribe_path = link_path(welcome, "/unsubscribe/")
    assert welcome["List-Unsubscribe"] == f"<https://news.example.org{unsubscribe_path}>"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert welcome["List-Id"] == "<explaining-ukraine.news.example.org>"
    # On the wire, not only once parsed: the URL unencoded, on one line.
    raw_headers = mailbox.raw_header_lines(welcome)
    assert f"List-Unsubscribe: <https://news.example.org{unsubscribe_path}>" in raw_headers
    assert count(app, OutboxMessage) == 2


def test_one_click_unsubscribe(app, client, runner, mailbox):
    sign_up(client, "reader@example.com")
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    unsubscribe_path = link_path(mailbox.messages[1], "/unsubscribe/")

    assert "Unsubscribe" in client.get(unsubscribe_path).text
    assert subscriptions(app)[0].status is SubscriptionStatus.CONFIRMED

    # RFC 8058: a mail provider POSTs this body, with no cookie, and wants no redirect.
    fresh_client = app.test_client()
    response = fresh_client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    [subscription] = subscriptions(app)
    assert subscription.status is SubscriptionStatus.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None

    again = fresh_client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert "You have been unsubscribed" in again.text
