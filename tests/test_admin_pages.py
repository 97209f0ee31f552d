"""The editors' pages through the HTTP client: dashboard, newsletters, subscribers, actions.

An editor is created with ``newsletter admins create`` and signs in through the login
form; every page is then used as a browser would, and its effect checked in the database.
"""

import html
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import joinedload

from newsletter import addresses
from newsletter import list_management
from newsletter import newsletters
from newsletter import subscriptions as lifecycle
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Erasure
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from tests.admin_steps import EDITOR
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.conftest import free_port
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import sign_up

ADMIN = "/admin"
LIST = f"{ADMIN}/newsletters/{SLUG}"
ROW_LINK = re.compile(rf'<a href="{LIST}/subscribers/([\w-]+)">([^<]+)</a>')
COUNT = re.compile(r"<dt>(\w+)</dt><dd>(?:<a [^>]*>)?(\d+)")
OLDER = re.compile(r'<a href="([^"]+)" rel="next">Older</a>')
EVIDENCE = lifecycle.Evidence(
    ip="203.0.113.9", user_agent="Seeder/1.0", source="web", source_url="https://site.test/a"
)


@pytest.fixture
def editor(app, runner):
    """A browser with the editor signed in."""
    return signed_in_client(app, runner)


@pytest.fixture
def undeliverable(settings):
    """Mail goes to a port nobody listens on, and one failed attempt is final."""
    settings["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    settings["MAIL_MAX_ATTEMPTS"] = 1


def add_subscribers(app, emails: list[str], slug: str = SLUG) -> None:
    """Sign addresses up through the domain, all in one transaction (fast)."""
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, slug)
        for email in emails:
            lifecycle.subscribe(session, newsletter, addresses.normalize(email), EVIDENCE)


def change(app, email: str, **values) -> None:
    """Set columns of a subscription directly (to arrange a state or a date)."""
    with app.app_context(), database(app).transaction() as session:
        row = session.scalars(
            select(Subscription).where(Subscription.reader.has(email=email))
        ).one()
        for name, value in values.items():
            setattr(row, name, value)


def stored(app, email: str) -> Subscription | None:
    """The subscription of ``email`` as the database holds it, or None."""
    with app.app_context(), database(app).transaction() as session:
        query = (
            select(Subscription)
            .options(joinedload(Subscription.reader))
            .where(Subscription.reader.has(email=email))
        )
        return session.scalars(query).one_or_none()


def stored_in(app, slug: str, email: str) -> Subscription:
    """The subscription of ``email`` to the newsletter ``slug``."""
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(
            select(Subscription).where(
                Subscription.newsletter.has(slug=slug), Subscription.reader.has(email=email)
            )
        ).one()


def rows(app, model, *where) -> int:
    """How many rows of ``model`` match."""
    with app.app_context(), database(app).transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def newsletters_in(app) -> list[Newsletter]:
    """Every newsletter, as the database holds them."""
    with app.app_context(), database(app).transaction() as session:
        return newsletters.all_newsletters(session)


def listed(client, url: str) -> list[str]:
    """The addresses in a subscriber list page."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    return [html.unescape(email) for _, email in ROW_LINK.findall(response.text)]


def subscriber_url(client, email: str) -> str:
    """The subscriber page's URL, found by searching the list as an editor would."""
    page = client.get(LIST, query_string={"q": email}).text
    [(public_id, _)] = [row for row in ROW_LINK.findall(page) if html.unescape(row[1]) == email]
    return f"{LIST}/subscribers/{public_id}"


def fill_in(client, url: str, **fields):
    """Open a newsletter's form page and submit it with these fields (and its CSRF token).

    The checkbox and the position go as a browser sends them when left as the page
    shows them (listed publicly, position 0), unless ``fields`` say otherwise.
    """
    page = client.get(url)
    assert page.status_code == 200
    as_left = {"public": "y", "position": "0"}
    return client.post(url, data=as_left | fields | {"csrf_token": page_csrf_token(page.text)})


def act(client, url: str, action: str):
    """Press an action's button on the subscriber page (the form carries the CSRF token)."""
    page = client.get(url)
    assert f'action="{url}/{action}"' in page.text
    return client.post(f"{url}/{action}", data={"csrf_token": page_csrf_token(page.text)})


def counts(page: str) -> dict[str, int]:
    """The status counts shown on a dashboard card, first card after the queue."""
    return {name.lower(): int(total) for name, total in COUNT.findall(page)}


# --- Dashboard ---------------------------------------------------------------------------


def test_dashboard_shows_counts_chart_and_links(app, editor):
    add_subscribers(app, ["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    change(app, "b@example.com", status=SubscriptionStatus.CONFIRMED, confirmed_at=utcnow())
    change(app, "c@example.com", status=SubscriptionStatus.UNSUBSCRIBED)
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        erased = list_management.page(session, newsletter, query="d@").subscriptions[0]
        list_management.erase(session, erased.reader)

    page = editor.get(f"{ADMIN}/")
    assert page.status_code == 200
    shown = counts(page.text)
    assert {key: shown[key] for key in ("pending", "confirmed", "unsubscribed", "erased")} == {
        "pending": 1,
        "confirmed": 1,
        "unsubscribed": 1,
        "erased": 1,
    }
    assert "<dt>People with a subscription</dt><dd>3</dd>" in page.text
    assert '<svg class="chart"' in page.text and 'role="img"' in page.text
    assert "Signups and confirmations per day, last 30 days</title>" in page.text
    assert "3 signups and 1 confirmation." in page.text  # the <desc> for screen readers
    today = utcnow().date().isoformat()
    assert f'<time datetime="{today}">{today}</time></th><td>3</td><td>1</td>' in page.text
    for link in (
        LIST,
        f"{LIST}/edit",
        f"{LIST}/subscribers.csv?status=confirmed",
        f"{LIST}/subscribers.csv",
        f"{ADMIN}/newsletters/new",
    ):
        assert f'href="{link}"' in page.text


def test_chart_counts_by_utc_day_whatever_the_session_time_zone(app):
    """23:59:59 and 00:00:01 UTC fall on two days, even when the database thinks in UTC+14."""
    add_subscribers(app, ["late@example.com", "early@example.com", "old@example.com"])
    today = utcnow().date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=2)
    late, early = midnight - timedelta(seconds=1), midnight + timedelta(seconds=1)
    change(app, "late@example.com", created_at=late, confirmed_at=early)
    change(app, "early@example.com", created_at=early)
    change(app, "old@example.com", created_at=midnight - timedelta(days=40))

    with app.app_context(), database(app).transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
        newsletter = newsletters.get_by_slug(session, SLUG)
        activity = list_management.daily_activity(session, newsletter, 30)

    assert len(activity) == 30 and activity[-1].day == today
    by_day = {entry.day: (entry.signups, entry.confirmations) for entry in activity}
    assert by_day[late.date()] == (1, 0)
    assert by_day[early.date()] == (1, 1)
    assert sum(entry.signups for entry in activity) == 2  # 40 days ago is off the chart


def test_dashboard_shows_the_mail_queue_and_its_failures(undeliverable, app, editor, runner):
    add_subscribers(app, ["one@example.com", "two@example.com"])
    queued = editor.get(f"{ADMIN}/").text
    assert "<dt>Queued</dt><dd>2</dd>" in queued
    assert re.search(r"<dt>Oldest queued</dt><dd>\d+ seconds? old</dd>", queued)

    deliver(runner)  # nobody listens: both fail for good

    failed = editor.get(f"{ADMIN}/").text
    assert "<dt>Queued</dt><dd>0</dd>" in failed
    assert '<dt>Failed</dt><dd class="admin__bad">2</dd>' in failed
    assert '<pre class="admin__error-text">' in failed
    assert "<dt>Oldest queued</dt><dd>none</dd>" in failed


def test_dashboard_counts_the_signups_waiting_for_the_worker(app, client, editor, runner):
    for email in ("one@example.com", "two@example.com"):
        assert sign_up(client, email).status_code == 303
    assert "<dt>Signups to apply</dt><dd>2</dd>" in editor.get(f"{ADMIN}/").text

    deliver(runner)

    assert "<dt>Signups to apply</dt><dd>0</dd>" in editor.get(f"{ADMIN}/").text


# --- Newsletters -------------------------------------------------------------------------


def test_create_a_newsletter(app, editor):
    form = editor.get(f"{ADMIN}/newsletters/new")
    assert form.status_code == 200
    assert 'for="slug"' in form.text and 'for="allowed_origins"' in form.text
    created = fill_in(
        editor,
        f"{ADMIN}/newsletters/new",
        name="  Weekly   Digest ",
        slug="weekly-digest",
        description="The week, in five minutes.",
        allowed_origins="https://News.Example.org/\n\nhttp://localhost:8000\n",
    )
    assert created.status_code == 303
    assert created.headers["Location"] == f"{ADMIN}/newsletters/weekly-digest"
    assert "Created “Weekly Digest”" in editor.get(created.headers["Location"]).text
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, "weekly-digest")
        assert newsletter.name == "Weekly Digest"
        assert newsletter.description == "The week, in five minutes."
        assert newsletter.allowed_origins == ["https://news.example.org", "http://localhost:8000"]
    assert editor.get("/newsletters/weekly-digest").status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Give the newsletter a name."),
        ({"slug": ""}, "Give the newsletter a slug."),
        ({"slug": "Weekly Digest"}, "lower-case letters, digits and single hyphens"),
        ({"slug": "a--b"}, "lower-case letters, digits and single hyphens"),
        ({"slug": SLUG}, "exists already"),
        ({"allowed_origins": "https://site.test/path"}, "Not an origin"),
        ({"allowed_origins": "javascript:alert(1)"}, "Not an origin"),
        ({"name": "x" * 201}, "At most 200 characters."),
        # PostgreSQL refuses NUL in text: once a 500 there.
        ({"name": "Weekly\x00Digest"}, "A name cannot contain control characters."),
        ({"name": "\x1b[31mWeekly"}, "A name cannot contain control characters."),
    ],
)
def test_invalid_newsletters_are_refused_with_the_reason(app, editor, fields, message):
    data = {"name": "Weekly", "slug": "weekly", "description": "", "allowed_origins": ""}
    refused = fill_in(editor, f"{ADMIN}/newsletters/new", **(data | fields))
    assert refused.status_code == 422
    assert message in html.unescape(refused.text)
    assert 'role="alert"' in refused.text
    assert rows(app, Newsletter) == 1


def test_edit_a_newsletter(app, editor):
    form = editor.get(f"{LIST}/edit")
    assert form.status_code == 200
    assert 'value="Explaining Ukraine with Kate Tsurkan"' in form.text
    assert 'name="slug"' not in form.text  # fixed once created
    saved = fill_in(
        editor,
        f"{LIST}/edit",
        name="Explaining Ukraine",
        description="Weekly.",
        allowed_origins="https://kyivindependent.com",
    )
    assert saved.status_code == 303
    assert saved.headers["Location"] == LIST
    assert "Saved." in editor.get(LIST).text
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        assert (newsletter.name, newsletter.description) == ("Explaining Ukraine", "Weekly.")
        assert newsletter.allowed_origins == ["https://kyivindependent.com"]


def test_a_private_newsletter_is_not_listed_and_positions_order_the_lists(app, editor):
    for name, slug, position in (("Zebra", "zebra", "0"), ("Arts", "arts", "7")):
        created = fill_in(
            editor, f"{ADMIN}/newsletters/new", name=name, slug=slug, position=position
        )
        assert created.status_code == 303
    form = editor.get(f"{LIST}/edit")
    assert re.search(r'<input [^>]*\bchecked\b[^>]*name="public" type="checkbox"', form.text)
    private = {"name": "Explaining Ukraine", "public": "", "position": "0"}
    assert fill_in(editor, f"{LIST}/edit", **private).status_code == 303

    front = app.test_client().get("/").text
    assert "Explaining Ukraine" not in front
    assert front.index("Zebra") < front.index("Arts")  # position 0, then 7
    assert app.test_client().get(f"/newsletters/{SLUG}").status_code == 200  # still its page
    dashboard = editor.get(f"{ADMIN}/").text
    order = [dashboard.index(name) for name in ("Explaining Ukraine", "Zebra", "Arts")]
    assert order == sorted(order)
    assert "(private)" in dashboard
    refused = fill_in(editor, f"{LIST}/edit", name="Explaining Ukraine", position="-3")
    assert refused.status_code == 422
    assert "A whole number from 0 to 9999." in refused.text


def test_the_subscriber_page_lists_the_readers_every_subscription(app, editor):
    with app.app_context(), database(app).transaction() as session:
        newsletters.create(session, slug="briefing", name="The Briefing")
    add_subscribers(app, ["Both@example.com"])
    add_subscribers(app, ["both@example.com"], slug="briefing")
    [first, second] = [stored_in(app, slug, "Both@example.com") for slug in (SLUG, "briefing")]
    page = editor.get(f"{LIST}/subscribers/{first.public_id}").text
    assert "The Briefing" in page
    assert f'href="{ADMIN}/newsletters/briefing/subscribers/{second.public_id}"' in page
    # The heading's badge, then one per newsletter in the list of subscriptions.
    assert page.count('class="status status--pending"') == 3


def test_an_invalid_edit_changes_nothing(app, editor):
    refused = fill_in(
        editor,
        f"{LIST}/edit",
        name="Renamed",
        allowed_origins="https://ok.example\nftp://nope.example",
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    assert "Not an origin" in html.unescape(refused.text)
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        assert newsletter.name == "Explaining Ukraine with Kate Tsurkan"
        assert newsletter.allowed_origins == []


def test_an_edit_refused_on_its_last_field_changes_none_of_the_others(app, editor):
    """The domain checks every field before it changes any; nothing of it is committed."""
    refused = fill_in(editor, f"{LIST}/edit", name="Renamed", sender="not an address")
    assert refused.status_code == 422
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        assert newsletter.name == "Explaining Ukraine with Kate Tsurkan"
        assert newsletter.sender == ""


def test_a_name_with_a_nul_changes_nothing(app, editor):
    refused = fill_in(editor, f"{LIST}/edit", name="Explaining\x00Ukraine", description="New.")
    assert refused.status_code == 422
    assert "A name cannot contain control characters." in refused.text
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        assert newsletter.name == "Explaining Ukraine with Kate Tsurkan"
        assert newsletter.description.startswith("A weekly letter")


def test_control_characters_in_a_description_are_dropped_line_breaks_kept(app, editor):
    """Pasted text brings invisible characters (NUL; a vertical tab for a line break)."""
    pasted = "First line.\r\nSecond\x00 line.\x0bThird\x07 line.\x1b"
    assert fill_in(editor, f"{LIST}/edit", name="Weekly", description=pasted).status_code == 303
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        assert newsletter.description == "First line.\nSecond line.\nThird line."


# --- Subscribers -------------------------------------------------------------------------


def test_list_pages_through_every_subscriber_newest_first(app, editor):
    emails = [f"reader{number:03}@example.com" for number in range(120)]
    add_subscribers(app, emails)

    first = editor.get(LIST)
    assert 'aria-current="page">Newest</a>' in first.text
    seen, url, pages = [], LIST, 0
    while url:
        page = editor.get(url)
        assert page.status_code == 200
        seen += [html.unescape(email) for _, email in ROW_LINK.findall(page.text)]
        older = OLDER.search(page.text)
        url = html.unescape(older.group(1)) if older else None
        pages += 1
    assert pages == 3
    assert seen == list(reversed(emails))


def test_search_and_status_filter(app, editor):
    emails = [f"reader{number:03}@example.com" for number in range(120)]
    add_subscribers(app, [*emails, "Someone.Else@Example.org"])
    for email in emails[::3]:
        change(app, email, status=SubscriptionStatus.CONFIRMED)

    assert listed(editor, f"{LIST}?q=reader01") == [
        f"reader{n:03}@example.com" for n in range(19, 9, -1)
    ]
    assert listed(editor, f"{LIST}?q=SOMEONE.else") == ["Someone.Else@example.org"]
    assert listed(editor, f"{LIST}?q=%25") == []  # LIKE wildcards are literal
    assert listed(editor, f"{LIST}?q=nobody") == []

    confirmed = listed(editor, f"{LIST}?status=confirmed")
    assert confirmed == list(reversed(emails[::3]))  # 40: one page
    both = listed(editor, f"{LIST}?status=confirmed&q=reader01")
    assert both == ["reader018@example.com", "reader015@example.com", "reader012@example.com"]
    page = editor.get(f"{LIST}?status=confirmed&q=reader01").text
    assert '<option value="confirmed" selected>' in page
    assert f'href="{LIST}/subscribers.csv?status=confirmed"' in page


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "status=CONFIRMED",
        "before=abc",
        "before=0",
        "before=-5",
        "before=1e3",
        "before=%D9%A3",  # an Arabic-Indic digit: isdigit(), but no number for SQL
        "before=99999999999999999999999999",
        "before=" + "9" * 5000,
    ],
)
def test_bad_list_parameters_are_400(editor, query):
    assert editor.get(f"{LIST}?{query}").status_code == 400


@pytest.mark.parametrize(
    ("query", "reason", "words"),
    [
        ("status=bogus", "unknown_status", "There is no such status"),
        ("before=abc", "bad_cursor", "This page of the list does not exist"),
    ],
)
def test_a_bad_list_parameter_is_said_with_its_reason(editor, query, reason, words):
    assert words in editor.get(f"{LIST}?{query}").text
    answer = editor.get(f"{LIST}?{query}", headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.json["error"] == reason


@pytest.mark.parametrize("query", ["q=%00", "q=" + "a" * 5000, "q=%FF%FE", "before=12"])
def test_odd_but_harmless_list_parameters_are_answered(editor, query):
    assert editor.get(f"{LIST}?{query}").status_code == 200


def test_subscriber_page_shows_consent_confirmation_and_history(
    app, client, editor, runner, mailbox
):
    article = "https://news.example.org/2024/ukraine-explained"
    sign_up(client, "reader@example.com", **{"User-Agent": "SignupBrowser/2.0", "Referer": article})
    deliver(runner)
    confirm = link_path(mailbox.messages[0], "/confirm/")
    assert client.post(confirm, headers={"User-Agent": "ConfirmBrowser/3.0"}).status_code == 303

    page = editor.get(subscriber_url(editor, "reader@example.com"))
    assert page.status_code == 200
    body = html.unescape(page.text)
    assert '<h1 class="page__title admin__address">reader@example.com</h1>' in body
    assert "SignupBrowser/2.0" in body and "ConfirmBrowser/3.0" in body
    assert "127.0.0.1" in body
    assert f'<dd class="admin__long">{article}</dd>' in body  # the page, as text
    assert '<td data-label="What">signup</td>' in body
    assert '<td data-label="What">confirmed</td>' in body
    assert "status status--confirmed" in body
    assert "/resend" not in body  # only pending readers get the confirmation again


def test_resend_confirmation_queues_it_again(app, editor):
    add_subscribers(app, ["pending@example.com"])
    url = subscriber_url(editor, "pending@example.com")
    resent = act(editor, url, "resend")
    assert resent.status_code == 303 and resent.headers["Location"] == url
    assert "The confirmation email was queued again." in editor.get(url).text
    assert rows(app, OutboxMessage, OutboxMessage.kind == "confirmation") == 2
    assert rows(app, SubscriptionEvent, SubscriptionEvent.detail == f"by editor {EDITOR}") == 1


def test_resend_is_refused_for_a_confirmed_reader(app, editor):
    add_subscribers(app, ["confirmed@example.com"])
    change(app, "confirmed@example.com", status=SubscriptionStatus.CONFIRMED)
    url = subscriber_url(editor, "confirmed@example.com")
    token = page_csrf_token(editor.get(url).text)
    refused = editor.post(f"{url}/resend", data={"csrf_token": token})
    assert refused.status_code == 303
    assert "Only a pending subscriber" in editor.get(url).text
    assert rows(app, OutboxMessage) == 1


def test_unsubscribe_on_a_readers_behalf(app, editor):
    add_subscribers(app, ["leaving@example.com"])
    change(app, "leaving@example.com", status=SubscriptionStatus.CONFIRMED)
    url = subscriber_url(editor, "leaving@example.com")
    done = act(editor, url, "unsubscribe")
    assert done.status_code == 303
    page = editor.get(url).text
    assert "Unsubscribed." in page and "status--unsubscribed" in page
    row = stored(app, "leaving@example.com")
    assert row.status is SubscriptionStatus.UNSUBSCRIBED and row.unsubscribed_at is not None
    assert f"by editor {EDITOR}" in page  # in the history


def test_erase_asks_for_confirmation_on_a_page_of_its_own(app, editor):
    """The subscriber page only links to the erase step; opening it erases nothing."""
    add_subscribers(app, ["forget-me@example.com"])
    url = subscriber_url(editor, "forget-me@example.com")
    page = editor.get(url).text
    assert f'action="{url}/erase"' not in page
    assert f'href="{url}/erase"' in page
    confirmation = editor.get(f"{url}/erase")
    assert confirmation.status_code == 200
    said = shown_text(confirmation.text)
    assert "Erase forget-me@example.com?" in said
    assert "Erasing cannot be undone." in said
    assert "Explaining Ukraine with Kate Tsurkan pending" in said  # each of the reader's
    assert f'action="{url}/erase"' in confirmation.text
    assert stored(app, "forget-me@example.com") is not None
    assert rows(app, Erasure) == 0


def test_erase_removes_the_subscriber(app, editor):
    add_subscribers(app, ["forget-me@example.com", "keep@example.com"])
    url = subscriber_url(editor, "forget-me@example.com")
    confirmation = editor.get(f"{url}/erase").text
    erased = editor.post(f"{url}/erase", data={"csrf_token": page_csrf_token(confirmation)})
    assert erased.status_code == 303 and erased.headers["Location"] == LIST
    after = editor.get(LIST).text
    assert "Erased." in after and "forget-me@example.com" not in after
    assert stored(app, "forget-me@example.com") is None
    assert rows(app, Erasure) == 1
    assert rows(app, OutboxMessage) == 1  # keep@'s confirmation only
    assert editor.get(url).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"{ADMIN}/newsletters/no-such-letter",
        f"{ADMIN}/newsletters/no-such-letter/edit",
        f"{ADMIN}/newsletters/Bad%20Slug",
        f"{LIST}/subscribers/unknown-id",
        f"{LIST}/subscribers/bad%00id",
        f"{LIST}/subscribers/{'x' * 200}",
    ],
)
def test_unknown_newsletters_and_subscribers_are_404(editor, path):
    assert editor.get(path).status_code == 404


def test_actions_on_unknown_subscribers_are_404(editor):
    token = page_csrf_token(editor.get(f"{ADMIN}/").text)
    for action in ("resend", "unsubscribe", "erase"):
        response = editor.post(f"{LIST}/subscribers/nobody/{action}", data={"csrf_token": token})
        assert response.status_code == 404


# --- Who may do what ---------------------------------------------------------------------

PAGES = [
    f"{ADMIN}/",
    f"{ADMIN}/newsletters/new",
    LIST,
    f"{LIST}/edit",
    f"{LIST}/subscribers/any-id",
]
ACTIONS = ["resend", "unsubscribe", "erase"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith(f"{ADMIN}/login?next=")


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_actions_change_nothing(app, client, action):
    add_subscribers(app, ["target@example.com"])
    public_id = stored(app, "target@example.com").public_id
    response = client.post(f"{LIST}/subscribers/{public_id}/{action}")
    assert response.status_code in (302, 303, 400)
    assert stored(app, "target@example.com").status is SubscriptionStatus.PENDING
    assert rows(app, OutboxMessage) == 1


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_without_csrf_token_are_400_and_change_nothing(app, editor, action):
    add_subscribers(app, ["target@example.com"])
    url = subscriber_url(editor, "target@example.com")
    assert editor.post(f"{url}/{action}").status_code == 400
    assert editor.post(f"{url}/{action}", data={"csrf_token": "forged"}).status_code == 400
    assert stored(app, "target@example.com").status is SubscriptionStatus.PENDING
    assert rows(app, OutboxMessage) == 1 and rows(app, Erasure) == 0


def test_newsletter_forms_without_csrf_token_are_400(app, editor):
    data = {"name": "Weekly", "slug": "weekly"}
    assert editor.post(f"{ADMIN}/newsletters/new", data=data).status_code == 400
    assert editor.post(f"{LIST}/edit", data={"name": "Renamed"}).status_code == 400
    assert [n.name for n in newsletters_in(app)] == ["Explaining Ukraine with Kate Tsurkan"]
