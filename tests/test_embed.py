"""The iframe form on other sites, its cookie-less CSRF defence, and the ``embed.js`` script."""

import html
import re
import time
import types

import itsdangerous.timed
import pytest

from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from tests.reader import SENT_TO_READER
from tests.reader import count
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import shown_text
from tests.reader import subscriptions

SLUG = "explaining-ukraine"
EMBED = f"/newsletters/{SLUG}/embed"
SUBSCRIBED = f"{EMBED}/subscribed"
ALLOWED = ["https://news.example.com", "https://www.example.net:8443"]
OWN_ORIGIN = "https://news.example.org"  # PUBLIC_URL in the test settings
ARTICLE = "https://news.example.com/2024/05/ukraine-explained?ref=inline&utm=a"
INVALID_ADDRESS = "Please, enter correct email address"
FORM_EXPIRED = "This form has expired. Please submit it again."
SUCCESS_TITLE = "Successfully subscribed"
FROM_OUR_FRAME = {"Sec-Fetch-Site": "same-origin"}
DAY = 24 * 3600


def hidden_field(page: str, name: str) -> str:
    """The value of a hidden input of the rendered form."""
    match = re.search(rf'<input name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"the form has no hidden {name} field"
    return html.unescape(match.group(1))


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive → sources."""
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def assert_nothing_stored(app) -> None:
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, SubscriptionEvent) == 0
    assert count(app, OutboxMessage) == 0


def open_frame(client, slug: str = SLUG, **headers) -> str:
    """Load the iframe form as a browser would; returns its HTML."""
    response = client.get(f"/newsletters/{slug}/embed", headers=headers)
    assert response.status_code == 200
    return response.text


def submit(client, page: str, email: str, headers=None, **fields):
    """Submit the rendered frame's form with its hidden fields, as the browser would."""
    data = {
        "form_token": hidden_field(page, "form_token"),
        "source_url": hidden_field(page, "source_url"),
        "email": email,
        "website": "",
    }
    data.update(fields)
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(EMBED, data=data, headers=FROM_OUR_FRAME if headers is None else headers)


def allow(runner, *origins: str) -> None:
    args = ["newsletters", "update", SLUG]
    for origin in origins:
        args += ["--allow-origin", origin]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def allowed(app, runner) -> list[str]:
    """The newsletter may be embedded by two sites (set by the CLI)."""
    allow(runner, *ALLOWED)
    return ALLOWED


def test_frame_may_be_embedded_by_the_allowed_origins_only(app, client, allowed):
    response = client.get(EMBED)
    assert response.status_code == 200
    assert csp(response)["frame-ancestors"] == allowed
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "Enter your email to subscribe" in response.text


def test_frame_follows_changes_to_the_allowed_origins(app, client, runner):
    assert csp(client.get(EMBED))["frame-ancestors"] == ["'none'"]
    allow(runner, "https://news.example.com")
    assert csp(client.get(EMBED))["frame-ancestors"] == ["https://news.example.com"]
    result = runner.invoke(args=["newsletters", "update", SLUG, "--no-origins"])
    assert result.exit_code == 0, result.output
    assert csp(client.get(EMBED))["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    "path", ["/", f"/newsletters/{SLUG}", f"/newsletters/{SLUG}/subscribed", "/healthz", "/nope"]
)
def test_every_other_page_stays_unframable(app, client, allowed, path):
    """The embed's allowed origins never leak into the headers of any other page."""
    client.get(EMBED)  # the frame's policy must not stick to later answers either
    response = client.get(path)
    assert csp(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_signup_inside_the_frame(app, client, runner, mailbox, allowed):
    page = open_frame(client)
    response = submit(client, page, "reader@example.com")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{SUBSCRIBED}?sent_to=")

    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert SUCCESS_TITLE in done.text
    assert SENT_TO_READER in shown_text(done.text)
    # The success page stays inside the frame on the allowed sites.
    assert csp(done)["frame-ancestors"] == allowed
    assert "X-Frame-Options" not in done.headers

    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.email == "reader@example.com"
    assert subscription.status is SubscriptionStatus.PENDING
    assert subscription.source == "embed"
    assert [message["To"] for message in mailbox.messages] == ["reader@example.com"]


def test_invalid_address_shows_the_message_inside_the_frame(app, client, allowed):
    response = submit(client, open_frame(client), "not an address")
    assert response.status_code == 422
    assert INVALID_ADDRESS in response.text
    assert csp(response)["frame-ancestors"] == allowed
    assert "X-Frame-Options" not in response.headers
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, id="same-site"),
        pytest.param(
            {"Sec-Fetch-Site": "cross-site", "Origin": OWN_ORIGIN}, id="cross-site-own-origin"
        ),
        pytest.param({"Origin": "https://evil.example"}, id="legacy-foreign-origin"),
        pytest.param({"Origin": "https://news.example.com"}, id="legacy-embedding-site"),
        pytest.param({"Origin": "null"}, id="legacy-sandboxed"),
    ],
)
def test_post_from_outside_our_frame_is_403(app, client, allowed, headers):
    """Another site (even an allowed embedder) cannot submit the form itself."""
    response = submit(client, open_frame(client), "reader@example.com", headers=headers)
    assert response.status_code == 403
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": OWN_ORIGIN}, id="legacy-own-origin"),
        pytest.param({}, id="legacy-without-origin"),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": OWN_ORIGIN}, id="fetch-metadata"),
    ],
)
def test_post_from_our_frame_is_accepted(app, client, runner, allowed, headers):
    response = submit(client, open_frame(client), "reader@example.com", headers=headers)
    assert response.status_code == 303
    deliver(runner)
    assert count(app, Subscription) == 1


def _bad_token(case: str, page: str, client, runner) -> str | None:
    """A token that must not pass: none, not ours, altered, or another newsletter's."""
    if case == "missing":
        return None
    if case == "empty":
        return ""
    if case == "garbage":
        return "not-a-token"
    if case == "tampered":
        token = hidden_field(page, "form_token")
        payload, timestamp, signature = token.split(".")
        flipped = "A" if signature[0] != "A" else "B"
        return f"{payload}.{timestamp}.{flipped}{signature[1:]}"
    result = runner.invoke(
        args=["newsletters", "create", "--slug", "weekly-digest", "--name", "Weekly digest"]
    )
    assert result.exit_code == 0, result.output
    return hidden_field(open_frame(client, slug="weekly-digest"), "form_token")


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "tampered", "other-newsletter"])
def test_form_without_a_valid_token_is_refused_with_a_fresh_one(app, client, runner, allowed, case):
    page = open_frame(client)
    token = _bad_token(case, page, client, runner)
    response = submit(client, page, "reader@example.com", form_token=token)
    assert response.status_code == 422
    assert FORM_EXPIRED in response.text
    assert_nothing_stored(app)

    # The answer carries a new, valid token: submitting again works.
    fresh = hidden_field(response.text, "form_token")
    assert fresh != token
    again = submit(client, response.text, "reader@example.com")
    assert again.status_code == 303
    deliver(runner)
    assert count(app, Subscription) == 1


def _frame_rendered_ago(client, monkeypatch, seconds: int) -> str:
    """The frame as rendered ``seconds`` ago: only the token signer's clock is moved."""
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: now - seconds))
        return open_frame(client)


def test_expired_form_token_is_refused(app, client, allowed, monkeypatch):
    page = _frame_rendered_ago(client, monkeypatch, 2 * DAY)
    response = submit(client, page, "reader@example.com")
    assert response.status_code == 422
    assert FORM_EXPIRED in response.text
    assert_nothing_stored(app)


def test_form_left_open_for_hours_still_works(app, client, runner, allowed, monkeypatch):
    """A reader who opened the article this morning can still subscribe (limit: a day)."""
    assert app.config["EMBED_FORM_MAX_AGE"] == DAY
    page = _frame_rendered_ago(client, monkeypatch, DAY - 3600)
    assert submit(client, page, "reader@example.com").status_code == 303
    deliver(runner)
    assert count(app, Subscription) == 1


def test_whole_flow_works_without_cookies(app, runner, allowed):
    """Third-party cookies blocked: the frame never needs one, and never sets one."""
    client = app.test_client(use_cookies=False)
    frame = client.get(EMBED, headers={"Referer": ARTICLE})
    invalid = submit(client, frame.text, "nope")
    posted = submit(client, invalid.text, "reader@example.com")
    done = client.get(posted.headers["Location"])
    assert [frame.status_code, invalid.status_code, posted.status_code, done.status_code] == [
        200,
        422,
        303,
        200,
    ]
    assert SENT_TO_READER in shown_text(done.text)
    for response in (frame, invalid, posted, done):
        assert "Set-Cookie" not in response.headers
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.email == "reader@example.com"
    assert subscription.source_url == ARTICLE  # kept through the form's error round


def test_source_is_the_page_that_embedded_the_frame(app, client, runner, allowed):
    """The Referer of the frame's GET is the article; the POST's Referer is the frame."""
    page = open_frame(client, Referer=ARTICLE, **{"User-Agent": "Reader's browser/3.0"})
    response = submit(
        client,
        page,
        "reader@example.com",
        headers=FROM_OUR_FRAME | {"Referer": f"{OWN_ORIGIN}{EMBED}"},
    )
    assert response.status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.source == "embed"
    assert subscription.source_url == ARTICLE
    assert subscription.signup_ip == "127.0.0.1"


def test_honeypot_in_the_frame_gets_success_and_stores_nothing(
    app, client, runner, mailbox, allowed
):
    response = submit(client, open_frame(client), "reader@example.com", website="http://spam")
    assert response.status_code == 303
    # Answered as a person's signup is, the address echoed alike.
    assert response.headers["Location"].startswith(f"{SUBSCRIBED}?sent_to=")
    assert SENT_TO_READER in shown_text(client.get(response.headers["Location"]).text)
    assert_nothing_stored(app)
    deliver(runner)
    assert mailbox.messages == []


def test_honeypot_on_our_own_page_gets_success_and_stores_nothing(app, client, runner, mailbox):
    page = client.get(f"/newsletters/{SLUG}").text
    response = client.post(
        f"/newsletters/{SLUG}/subscribe",
        data={
            "email": "reader@example.com",
            "website": "http://spam",
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/newsletters/{SLUG}/subscribed?sent_to=")
    assert SENT_TO_READER in shown_text(client.get(response.headers["Location"]).text)
    assert_nothing_stored(app)
    deliver(runner)
    assert mailbox.messages == []


def test_embed_script_is_small_cacheable_javascript(app, client):
    with client.get("/embed.js") as response:  # a file response: close it
        body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    directives = {item.strip() for item in response.headers["Cache-Control"].split(",")}
    max_age = [int(item.split("=")[1]) for item in directives if item.startswith("max-age=")]
    assert max_age
    assert max_age[0] > 0
    assert len(body.encode()) < 10_000
    assert "data-newsletter" in body


def test_an_origin_allowed_by_one_newsletter_may_not_frame_another(app, client, runner, allowed):
    """B's frame lists B's origins only ('none' here), never A's."""
    args = ["newsletters", "create", "--slug", "other-newsletter", "--name", "Other"]
    assert runner.invoke(args=args).exit_code == 0
    allow_other = ["newsletters", "update", "other-newsletter", "--allow-origin"]
    response = client.get("/newsletters/other-newsletter/embed")
    assert response.status_code == 200
    assert csp(response)["frame-ancestors"] == ["'none'"]
    assert runner.invoke(args=[*allow_other, "https://other.example"]).exit_code == 0
    response = client.get("/newsletters/other-newsletter/embed")
    assert csp(response)["frame-ancestors"] == ["https://other.example"]
    assert csp(client.get(EMBED))["frame-ancestors"] == allowed
