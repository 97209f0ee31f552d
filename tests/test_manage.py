"""The manage page, ``/manage/<token>``: a reader's newsletters, joined and left by POST.

A GET only shows (mail scanners fetch links); every POST redirects back to the page with
its result; joining from the page is confirmed at once, the manage link standing as the
proof of the mailbox; any token but a manage token is a 404.
"""

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import OutboxMessage
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from tests.reader import SLUG
from tests.reader import count
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.test_erasure import erase_through_admin
from tests.test_erasure import public_id_of
from tests.test_links import Page
from tests.test_links import assert_invalid_link_page
from tests.test_links import changed_in
from tests.test_links import truncations

ADDRESS = "reader@example.com"
DAILY = "daily-briefing"
PRIVATE = "insiders"


def create_newsletter(runner, slug: str, name: str, *options: str) -> None:
    result = runner.invoke(args=["newsletters", "create", "--slug", slug, "--name", name, *options])
    assert result.exit_code == 0, result.output


@pytest.fixture
def welcome(app, client, runner, mailbox) -> EmailMessage:
    """Three newsletters (one private); the reader confirmed the first: their welcome."""
    create_newsletter(runner, DAILY, "Daily briefing", "--position", "1")
    create_newsletter(runner, PRIVATE, "Insiders", "--private")
    assert sign_up(client, ADDRESS).status_code == 303
    deliver(runner)
    assert client.post(link_path(mailbox.messages[-1], "/confirm/")).status_code == 303
    deliver(runner)
    message = mailbox.messages[-1]
    assert message["Subject"].startswith("Welcome")
    return message


@pytest.fixture
def manage_path(welcome) -> str:
    return link_path(welcome, "/manage/")


def statuses(app) -> dict[str, SubscriptionStatus]:
    return {row.newsletter.slug: row.status for row in subscriptions(app)}


def snapshot(app) -> tuple:
    """Everything a manage action could change."""
    return (
        [(row.newsletter.slug, row.status, row.confirmation_round) for row in subscriptions(app)],
        count(app, OutboxMessage),
        count(app, SubscriptionEvent),
    )


def press(client, manage_path: str, action: str, newsletter: str = ""):
    return client.post(manage_path, data={"action": action, "newsletter": newsletter})


def test_welcome_email_links_the_manage_page_and_unsubscribes_per_newsletter(welcome, manage_path):
    assert "Manage your subscriptions" in welcome.get_body(("plain",)).get_content()
    assert f'href="https://news.example.org{manage_path}"' in html_part(welcome)
    # One click leaves this newsletter only: the header is the newsletter's own link.
    assert welcome["List-Unsubscribe"] == (
        f"<https://news.example.org{link_path(welcome, '/unsubscribe/')}>"
    )


@pytest.mark.parametrize("method", ["get", "head"])
def test_fetching_the_manage_page_changes_nothing(app, client, manage_path, method):
    before = snapshot(app)
    assert getattr(client, method)(manage_path).status_code == 200
    assert snapshot(app) == before


def test_manage_page_lists_public_newsletters_in_order_with_the_status(client, manage_path):
    page = client.get(manage_path)
    text = shown_text(page.text)
    assert "Explaining Ukraine" in text and "Daily briefing" in text
    assert text.index("Explaining Ukraine") < text.index("Daily briefing")
    assert "Insiders" not in text  # private, and the reader is not in it
    assert text.count("Not subscribed") == 1  # the daily briefing
    assert "Subscribed" in text.replace("Not subscribed", "")  # the newsletter confirmed
    assert ADDRESS in text


def test_manage_page_is_plain_forms_without_script(client, manage_path):
    page = client.get(manage_path)
    parsed = Page(page.text)
    assert parsed.scripts == parsed.refreshes == 0
    assert parsed.event_handlers == []
    assert parsed.forms and all(
        form["method"] == "post" and form["action"] == manage_path for form in parsed.forms
    )


def test_a_private_newsletter_the_reader_is_in_is_listed_to_leave(app, client, runner, manage_path):
    assert sign_up(client, ADDRESS, slug=PRIVATE).status_code == 303
    deliver(runner)
    assert "Insiders" in shown_text(client.get(manage_path).text)
    assert press(client, manage_path, "leave", PRIVATE).status_code == 303
    assert statuses(app)[PRIVATE] is SubscriptionStatus.UNSUBSCRIBED


def test_joining_from_the_manage_page_is_confirmed_at_once_with_evidence(
    app, client, runner, mailbox, manage_path
):
    client.environ_base.update(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Reader/2.0")
    response = press(client, manage_path, "join", DAILY)
    assert response.status_code == 303
    assert response.location == f"{manage_path}?result=join&newsletter={DAILY}"
    assert "You are subscribed to Daily briefing" in shown_text(client.get(response.location).text)

    [joined] = [row for row in subscriptions(app) if row.newsletter.slug == DAILY]
    assert joined.status is SubscriptionStatus.CONFIRMED
    assert (joined.source, joined.signup_ip, joined.confirmed_ip) == (
        "manage",
        "203.0.113.7",
        "203.0.113.7",
    )
    assert joined.confirmed_user_agent == "Reader/2.0"
    with app.app_context(), database(app).transaction() as session:
        events = session.execute(
            select(SubscriptionEvent.kind, SubscriptionEvent.detail)
            .where(SubscriptionEvent.subscription_id == joined.id)
            .order_by(SubscriptionEvent.id)
        ).all()
    assert events == [("signup", "manage link"), ("confirmed", "manage link")]
    # The link is the proof, but never stored: it would open the page for ever.
    token = manage_path.rsplit("/", 1)[1]
    assert token not in str(joined.source_url)

    deliver(runner)
    welcome = mailbox.messages[-1]
    assert welcome["Subject"] == "Welcome to Daily briefing"
    assert link_path(welcome, "/manage/") == manage_path


def test_joining_twice_is_harmless(app, client, runner, mailbox, manage_path):
    press(client, manage_path, "join", DAILY)
    before = snapshot(app)
    assert press(client, manage_path, "join", DAILY).status_code == 303
    assert press(client, manage_path, "join", SLUG).status_code == 303
    assert snapshot(app) == before


def test_rejoining_after_leaving_starts_a_new_confirmed_round(app, client, manage_path):
    press(client, manage_path, "leave", SLUG)
    press(client, manage_path, "join", SLUG)
    [row] = [row for row in subscriptions(app) if row.newsletter.slug == SLUG]
    assert (row.status, row.confirmation_round) == (SubscriptionStatus.CONFIRMED, 2)


@pytest.mark.parametrize("slug", [PRIVATE, "no-such-newsletter", ""])
def test_a_newsletter_not_offered_cannot_be_joined(app, client, manage_path, slug):
    before = snapshot(app)
    response = press(client, manage_path, "join", slug)
    assert response.status_code == 404
    assert "There is no such newsletter to choose here." in response.text
    assert snapshot(app) == before


def test_an_unknown_action_is_refused(app, client, manage_path):
    before = snapshot(app)
    assert press(client, manage_path, "erase", SLUG).status_code == 400
    assert snapshot(app) == before


def test_unsubscribing_from_one_leaves_the_others(app, client, manage_path):
    press(client, manage_path, "join", DAILY)
    response = press(client, manage_path, "leave", SLUG)
    assert response.status_code == 303
    page = shown_text(client.get(response.location).text)
    assert "You have unsubscribed from Explaining Ukraine" in page
    assert statuses(app) == {
        SLUG: SubscriptionStatus.UNSUBSCRIBED,
        DAILY: SubscriptionStatus.CONFIRMED,
    }
    with app.app_context(), database(app).transaction() as session:
        details = session.scalars(
            select(SubscriptionEvent.detail).where(SubscriptionEvent.kind == "unsubscribed")
        ).all()
    assert details == ["manage link"]


def test_unsubscribing_from_everything(app, client, runner, manage_path):
    press(client, manage_path, "join", DAILY)
    sign_up(client, ADDRESS, slug=PRIVATE)
    deliver(runner)  # pending in the private one: cancelled too
    response = press(client, manage_path, "leave_all")
    assert response.status_code == 303
    assert "You have unsubscribed from everything" in shown_text(client.get(response.location).text)
    assert set(statuses(app).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    assert press(client, manage_path, "leave_all").status_code == 303  # harmless again


def test_the_unsubscribe_result_page_offers_the_manage_page_and_leaving_everything(
    app, client, welcome, manage_path
):
    press(client, manage_path, "join", DAILY)
    unsubscribe_path = link_path(welcome, "/unsubscribe/")
    page = client.post(unsubscribe_path)
    assert page.status_code == 200
    assert f'href="{manage_path}"' in page.text
    [everything] = Page(page.text).forms
    assert (everything["method"], everything["action"]) == ("post", manage_path)
    assert statuses(app)[DAILY] is SubscriptionStatus.CONFIRMED  # only the one newsletter left
    assert press(client, manage_path, "leave_all").status_code == 303
    assert statuses(app)[DAILY] is SubscriptionStatus.UNSUBSCRIBED


def other_tokens(welcome) -> list[str]:
    """Tokens of every other purpose, for the same reader."""
    return [
        link_path(welcome, "/unsubscribe/").rsplit("/", 1)[1],
    ]


def test_invalid_forged_and_other_purpose_tokens_are_not_found(
    app, client, welcome, manage_path, mailbox
):
    token = manage_path.rsplit("/", 1)[1]
    confirm_token = link_path(mailbox.messages[0], "/confirm/").rsplit("/", 1)[1]
    bad = [
        *(changed_in(token, part) for part in ("payload", "signature")),
        *truncations(token),
        *other_tokens(welcome),
        confirm_token,
        "nonsense",
        token + "x" * 300,
    ]
    before = snapshot(app)
    for candidate in bad:
        assert_invalid_link_page(client.get(f"/manage/{candidate}"))
        assert_invalid_link_page(client.post(f"/manage/{candidate}", data={"action": "leave_all"}))
    assert snapshot(app) == before


def test_a_manage_token_is_no_unsubscribe_token(app, client, manage_path):
    before = snapshot(app)
    token = manage_path.rsplit("/", 1)[1]
    assert_invalid_link_page(client.post(f"/unsubscribe/{token}"))
    assert_invalid_link_page(client.post(f"/confirm/{token}"))
    assert snapshot(app) == before


def test_the_manage_link_of_an_erased_reader_is_not_found(app, client, runner, manage_path):
    erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert_invalid_link_page(client.get(manage_path))


def test_manage_pages_keep_their_token_private(client, manage_path):
    responses = [
        client.get(manage_path),
        press(client, manage_path, "join", DAILY),
        client.get("/manage/nonsense"),
    ]
    assert [response.status_code for response in responses] == [200, 303, 404]
    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
