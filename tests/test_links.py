"""Confirm and unsubscribe links as readers, their mail programs and mail scanners meet them.

A link's token is a capability: a bad one (tampered, truncated, of the other purpose)
leads to a 404 page with a way forward and changes nothing. GET and HEAD never change
anything (scanners fetch links); POST acts and may be repeated. An expired or replaced
confirm link answers 410 and offers a new one.
"""

import time
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from types import SimpleNamespace

import itsdangerous.timed
import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import OutboxMessage
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from tests.reader import count
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.reader import subscriptions

ADDRESS = "reader@example.com"
DAY = 24 * 3600


@contextmanager
def clock_set_back(monkeypatch, seconds: float):
    """Make itsdangerous sign (and check) tokens as if it were ``seconds`` ago.

    Only the token clock moves: what the app stores keeps the real time.
    """
    fake = SimpleNamespace(time=lambda: time.time() - seconds)
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed, "time", fake)
        yield


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def with_token(path: str, token: str) -> str:
    return f"{path.rsplit('/', 1)[0]}/{token}"


def changed_in(token: str, part: str) -> str:
    """The token with one character changed in the middle of its payload or signature.

    The middle, not the end: the last base64 character may carry padding bits only.
    """
    pieces = token.split(".")
    index = next(i for i, piece in enumerate(pieces) if piece) if part == "payload" else -1
    piece = pieces[index]
    middle = len(piece) // 2
    replacement = "A" if piece[middle] != "A" else "B"
    pieces[index] = piece[:middle] + replacement + piece[middle + 1 :]
    changed = ".".join(pieces)
    assert changed != token
    return changed


def truncations(token: str) -> list[str]:
    """What mail programs do to long links: cut at some point."""
    return [token[:-1], token[:-8], token[: len(token) // 2], token.split(".")[0]]


def snapshot(app) -> tuple:
    """Everything a link could change: the subscriptions, their history, the outbox."""
    rows = [
        (
            row.id,
            row.status,
            row.confirmation_round,
            row.confirmation_sent_at,
            row.confirmed_at,
            row.unsubscribed_at,
        )
        for row in subscriptions(app)
    ]
    return rows, count(app, SubscriptionEvent), count(app, OutboxMessage)


def status(app) -> SubscriptionStatus:
    [subscription] = subscriptions(app)
    return subscription.status


def outbox_kinds(app) -> list[str]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def set_confirmation_sent_back(app, seconds: float) -> None:
    """The database side of "the confirmation went out this long ago"."""
    with app.app_context(), database(app).transaction() as session:
        subscription = session.scalars(select(Subscription)).one()
        subscription.confirmation_sent_at -= timedelta(seconds=seconds)


class Page(HTMLParser):
    """The forms, scripts and meta refreshes of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.scripts = 0
        self.refreshes = 0
        self.event_handlers: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(attributes)
        if tag == "script":
            self.scripts += 1
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.refreshes += 1
        self.event_handlers += [name for name in attributes if name.startswith("on")]


def assert_invalid_link_page(response) -> None:
    """404, saying what happened and where to go from here."""
    assert response.status_code == 404
    assert "Link not valid" in response.text
    assert "sign up again from the newsletter" in response.text
    assert 'href="/"' in response.text


@pytest.fixture
def confirmation(client, runner, mailbox) -> EmailMessage:
    """A reader signed up; the confirmation email they received."""
    assert sign_up(client, ADDRESS).status_code == 303
    deliver(runner)
    [message] = mailbox.messages
    return message


@pytest.fixture
def confirm_path(confirmation) -> str:
    return link_path(confirmation, "/confirm/")


@pytest.fixture
def welcome(app, client, runner, mailbox, confirm_path) -> EmailMessage:
    """The reader confirmed; the welcome email they received."""
    assert client.post(confirm_path).status_code == 303
    deliver(runner)
    _, message = mailbox.messages
    assert status(app) is SubscriptionStatus.CONFIRMED
    return message


@pytest.fixture
def unsubscribe_path(welcome) -> str:
    return link_path(welcome, "/unsubscribe/")


@pytest.mark.parametrize("part", ["payload", "signature"])
def test_tampered_confirm_link_is_not_found_and_changes_nothing(app, client, confirm_path, part):
    """One character changed: 404 on the page, the button and the renew button."""
    bad = with_token(confirm_path, changed_in(token_of(confirm_path), part))
    before = snapshot(app)

    assert_invalid_link_page(client.get(bad))
    assert client.head(bad).status_code == 404
    assert_invalid_link_page(client.post(bad))
    assert_invalid_link_page(client.post(f"{bad}/renew"))

    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.PENDING
    assert client.get(confirm_path).status_code == 200  # the real link still works


@pytest.mark.parametrize("part", ["payload", "signature"])
def test_tampered_unsubscribe_link_is_not_found_and_changes_nothing(
    app, client, unsubscribe_path, part
):
    """One character changed: 404 on the page, the button and RFC 8058's one-click POST."""
    bad = with_token(unsubscribe_path, changed_in(token_of(unsubscribe_path), part))
    before = snapshot(app)

    assert_invalid_link_page(client.get(bad))
    assert_invalid_link_page(client.post(bad))
    assert_invalid_link_page(app.test_client().post(bad, data={"List-Unsubscribe": "One-Click"}))

    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.CONFIRMED


def test_truncated_links_are_not_found(app, client, confirm_path, unsubscribe_path):
    """Links cut short by a mail program: 404 on every step, nothing changes."""
    before = snapshot(app)
    for path in (confirm_path, unsubscribe_path):
        for cut in truncations(token_of(path)):
            short = with_token(path, cut)
            assert_invalid_link_page(client.get(short))
            assert_invalid_link_page(client.post(short))
    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.CONFIRMED


def test_tokens_are_bound_to_their_purpose(app, client, confirm_path, unsubscribe_path):
    """An unsubscribe token does not confirm, and a confirm token does not unsubscribe."""
    confirm_token = token_of(confirm_path)
    unsubscribe_token = token_of(unsubscribe_path)
    before = snapshot(app)

    assert_invalid_link_page(client.get(f"/confirm/{unsubscribe_token}"))
    assert_invalid_link_page(client.post(f"/confirm/{unsubscribe_token}"))
    assert_invalid_link_page(client.post(f"/confirm/{unsubscribe_token}/renew"))
    assert_invalid_link_page(client.get(f"/unsubscribe/{confirm_token}"))
    assert_invalid_link_page(client.post(f"/unsubscribe/{confirm_token}"))
    assert_invalid_link_page(
        client.post(f"/unsubscribe/{confirm_token}", data={"List-Unsubscribe": "One-Click"})
    )

    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.CONFIRMED


def test_confirm_token_cannot_unsubscribe_a_pending_reader(app, client, confirm_path):
    """The only token a pending reader has is not an unsubscribe token."""
    before = snapshot(app)
    assert_invalid_link_page(client.post(f"/unsubscribe/{token_of(confirm_path)}"))
    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.PENDING


def test_expired_confirm_link_offers_a_new_one(app, client, runner, mailbox, monkeypatch):
    """An 8-day-old link: 410 with "Send me a new link"; the new link confirms."""
    eight_days = 8 * DAY
    with clock_set_back(monkeypatch, eight_days):
        assert sign_up(client, ADDRESS).status_code == 303
        deliver(runner)  # the worker signs the link in the confirmation it renders
    set_confirmation_sent_back(app, eight_days)
    [old] = mailbox.messages
    expired_path = link_path(old, "/confirm/")

    page = client.get(expired_path)
    assert page.status_code == 410
    assert "This link has expired" in page.text
    assert "Send me a new link" in page.text
    [form] = Page(page.text).forms
    assert form["method"] == "post"
    assert form["action"] == f"{expired_path}/renew"

    refused = client.post(expired_path)
    assert refused.status_code == 410
    assert "Send me a new link" in refused.text
    assert status(app) is SubscriptionStatus.PENDING

    renewed = client.post(f"{expired_path}/renew")
    assert renewed.status_code == 200
    assert "Check your inbox" in renewed.text
    assert outbox_kinds(app) == ["confirmation", "confirmation"]
    deliver(runner)
    [_, new] = mailbox.messages
    new_path = link_path(new, "/confirm/")
    assert new_path != expired_path

    assert client.get(new_path).status_code == 200
    assert status(app) is SubscriptionStatus.PENDING
    assert client.post(new_path).status_code == 303
    assert status(app) is SubscriptionStatus.CONFIRMED


def test_renewing_within_the_resend_interval_sends_nothing(
    app, client, runner, mailbox, monkeypatch
):
    """The renew button is throttled like the form: same page, no second email yet."""
    with clock_set_back(monkeypatch, 8 * DAY):
        sign_up(client, ADDRESS)
        deliver(runner)
    [confirmation_sent] = [row.confirmation_sent_at for row in subscriptions(app)]
    [old] = mailbox.messages
    expired_path = link_path(old, "/confirm/")
    assert client.get(expired_path).status_code == 410

    renewed = client.post(f"{expired_path}/renew")
    assert renewed.status_code == 200
    assert "Check your inbox" in renewed.text
    assert outbox_kinds(app) == ["confirmation"]
    assert subscriptions(app)[0].confirmation_sent_at == confirmation_sent


def test_renew_does_nothing_for_a_link_that_still_works(app, client, confirm_path):
    """A valid link needs no replacement: the renew button queues nothing."""
    before = snapshot(app)
    assert client.post(f"{confirm_path}/renew").status_code == 200
    assert snapshot(app) == before


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fetching_the_confirm_link_confirms_nobody(app, client, confirm_path, method):
    """Mail scanners fetch links, some several times: the reader stays pending."""
    before = snapshot(app)
    for _ in range(5):
        response = client.open(confirm_path, method=method)
        assert response.status_code == 200
    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.PENDING


def test_confirming_twice_is_harmless(app, client, runner, mailbox, confirm_path):
    """Two presses (or a retried POST): one confirmed row, one welcome email."""
    assert client.post(confirm_path).status_code == 303
    [first] = subscriptions(app)
    again = app.test_client().post(confirm_path)
    assert again.status_code == 303
    assert "Subscription confirmed" in client.get(again.headers["Location"]).text

    [subscription] = subscriptions(app)
    assert subscription.status is SubscriptionStatus.CONFIRMED
    assert subscription.confirmed_at == first.confirmed_at
    deliver(runner)
    welcomes = [m for m in mailbox.messages if m["Subject"].startswith("Welcome")]
    assert len(welcomes) == 1
    assert outbox_kinds(app) == ["confirmation", "welcome"]


def test_earlier_rounds_confirm_link_is_superseded(
    app, client, runner, mailbox, confirm_path, unsubscribe_path
):
    """Unsubscribed and signed up again: the first round's link cannot confirm round two."""
    assert client.post(unsubscribe_path).status_code == 200
    assert status(app) is SubscriptionStatus.UNSUBSCRIBED
    assert sign_up(client, ADDRESS).status_code == 303
    deliver(runner)
    new_path = link_path(mailbox.messages[-1], "/confirm/")
    assert new_path != confirm_path
    before = snapshot(app)

    page = client.get(confirm_path)
    assert page.status_code == 410
    assert "This link has been replaced" in page.text
    assert "Send me a new link" in page.text
    refused = client.post(confirm_path)
    assert refused.status_code == 410
    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.PENDING

    assert client.post(new_path).status_code == 303
    [subscription] = subscriptions(app)
    assert subscription.status is SubscriptionStatus.CONFIRMED
    assert subscription.confirmation_round == 2


def test_unsubscribing_a_pending_subscription(
    app, client, runner, mailbox, confirm_path, unsubscribe_path
):
    """Signed up again but not confirmed yet: the old unsubscribe link cancels the signup."""
    client.post(unsubscribe_path)
    sign_up(client, ADDRESS)
    deliver(runner)
    new_path = link_path(mailbox.messages[-1], "/confirm/")
    assert status(app) is SubscriptionStatus.PENDING

    page = client.get(unsubscribe_path)
    assert page.status_code == 200
    assert status(app) is SubscriptionStatus.PENDING
    response = client.post(unsubscribe_path)
    assert response.status_code == 200
    assert "You have been unsubscribed" in response.text
    assert status(app) is SubscriptionStatus.UNSUBSCRIBED

    # The cancelled round's confirmation no longer confirms anyone.
    assert "You have unsubscribed" in client.get(new_path).text
    client.post(new_path)
    assert status(app) is SubscriptionStatus.UNSUBSCRIBED


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_fetching_the_unsubscribe_link_unsubscribes_nobody(app, unsubscribe_path, method):
    """Scanners fetch the List-Unsubscribe URL too: only a POST unsubscribes."""
    scanner = app.test_client()
    before = snapshot(app)
    for _ in range(5):
        assert scanner.open(unsubscribe_path, method=method).status_code == 200
    assert snapshot(app) == before
    assert status(app) is SubscriptionStatus.CONFIRMED


def test_unsubscribe_link_in_an_old_welcome_email_works(app, client, runner, mailbox, monkeypatch):
    """A welcome email from 400 days ago: its unsubscribe link still works."""
    with clock_set_back(monkeypatch, 400 * DAY):
        sign_up(client, ADDRESS)
        deliver(runner)
        assert client.post(link_path(mailbox.messages[0], "/confirm/")).status_code == 303
        deliver(runner)
    old_unsubscribe = link_path(mailbox.messages[1], "/unsubscribe/")

    page = app.test_client().get(old_unsubscribe)
    assert page.status_code == 200
    assert "Unsubscribe from" in page.text
    response = app.test_client().post(old_unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status(app) is SubscriptionStatus.UNSUBSCRIBED


def test_old_welcome_link_unsubscribes_a_later_round(
    app, client, runner, mailbox, confirm_path, unsubscribe_path
):
    """Round one's welcome email still unsubscribes after a second, confirmed round."""
    client.post(unsubscribe_path)
    sign_up(client, ADDRESS)
    deliver(runner)
    client.post(link_path(mailbox.messages[-1], "/confirm/"))
    assert status(app) is SubscriptionStatus.CONFIRMED

    assert client.post(unsubscribe_path).status_code == 200
    assert status(app) is SubscriptionStatus.UNSUBSCRIBED


def test_token_pages_keep_their_token_private(
    app, client, runner, mailbox, confirm_path, unsubscribe_path, monkeypatch
):
    """No Referer leaks the token, and no cache keeps a page that holds it."""
    with clock_set_back(monkeypatch, 8 * DAY):
        sign_up(app.test_client(), "other@example.com")
        deliver(runner)
    other = mailbox.messages[-1]
    assert other["To"] == "other@example.com"
    expired_path = link_path(other, "/confirm/")

    responses = {
        "confirm page": client.get(confirm_path),
        "confirm HEAD": client.head(confirm_path),
        "confirm POST": client.post(confirm_path),
        "expired confirm page": client.get(expired_path),
        "expired confirm POST": client.post(expired_path),
        "renew POST": client.post(f"{expired_path}/renew"),
        "unsubscribe page": client.get(unsubscribe_path),
        "unsubscribe POST": client.post(unsubscribe_path),
        "invalid confirm link": client.get(with_token(confirm_path, "nonsense")),
        "invalid unsubscribe POST": client.post(with_token(unsubscribe_path, "nonsense")),
    }
    assert [response.status_code for response in responses.values()] == [
        200,
        200,
        303,
        410,
        410,
        200,
        200,
        200,
        404,
        404,
    ]
    for name, response in responses.items():
        assert response.headers.get("Referrer-Policy") == "no-referrer", name
        assert response.headers.get("Cache-Control") == "no-store", name


def assert_plain_post_form(page, action: str) -> None:
    """One form that POSTs to ``action``; no script, refresh or event handler to submit it."""
    assert page.status_code == 200
    parsed = Page(page.text)
    [form] = parsed.forms
    assert form["method"] == "post"
    assert form["action"] == action
    assert "<script" not in page.text.lower()
    assert parsed.scripts == parsed.refreshes == 0
    assert parsed.event_handlers == []


def test_confirm_page_is_a_form_that_posts_without_script(app, client, confirm_path):
    """Nothing confirms itself when a scanner renders the page: the reader presses a button."""
    page = client.get(confirm_path)
    assert "Confirm subscription" in page.text
    assert_plain_post_form(page, confirm_path)
    assert status(app) is SubscriptionStatus.PENDING


def test_unsubscribe_page_is_a_form_that_posts_without_script(app, client, unsubscribe_path):
    """Only the button unsubscribes: a plain POST form, nothing that submits itself."""
    page = client.get(unsubscribe_path)
    assert "Unsubscribe" in page.text
    assert_plain_post_form(page, unsubscribe_path)
    assert status(app) is SubscriptionStatus.CONFIRMED
