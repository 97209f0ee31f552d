"""The JSON API for scripts and ``embed.js``: answers, error shapes, CORS, evidence, honeypot."""

import json

import pytest

from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from newsletter.web import form_words
from tests.reader import count
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import subscriptions

SLUG = "explaining-ukraine"
NEWSLETTER = f"/api/v1/newsletters/{SLUG}"
SUBSCRIPTIONS = f"{NEWSLETTER}/subscriptions"
ALLOWED = "https://news.example.com"
INVALID_ADDRESS = "Please, enter correct email address"
PENDING_MESSAGE = (
    "Thank you for signing up for this newsletter. We've sent you a confirmation email."
)
MAX_BODY = 64 * 1024
# Origins that must not pass for https://news.example.com: another site, a suffix trick,
# another scheme, and the opaque origin of sandboxed frames and file: pages.
FOREIGN_ORIGINS = [
    "https://evil.example",
    "https://news.example.com.evil.example",
    "http://news.example.com",
    "null",
]


def assert_nothing_stored(app) -> None:
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, SubscriptionEvent) == 0
    assert count(app, OutboxMessage) == 0


def assert_json_error(response, status: int) -> dict:
    """A JSON error answer with the given status and the common ``error``/``message`` shape."""
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "<html" not in response.text.lower()
    return body


def preflight(client, origin: str, path: str = SUBSCRIPTIONS, method: str = "POST"):
    """What a browser sends before a cross-origin JSON POST."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )


def header_items(response, name: str) -> set[str]:
    """The comma-separated values of a header, lower-cased."""
    return {item.strip().lower() for item in response.headers.get(name, "").split(",")}


@pytest.fixture
def allowed(app, runner) -> str:
    """The newsletter allows https://news.example.com to use its form (set by the CLI)."""
    result = runner.invoke(args=["newsletters", "update", SLUG, "--allow-origin", ALLOWED])
    assert result.exit_code == 0, result.output
    return ALLOWED


def test_signup_is_accepted_pending_and_mailed(app, client, runner, mailbox):
    response = client.post(SUBSCRIPTIONS, json={"email": "reader@example.com"})
    assert response.status_code == 202
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "status": "pending",
        "message": PENDING_MESSAGE,
        "sent_to": "r***@example.com",
        "webmail": None,
    }

    assert mailbox.messages == []  # recorded, not sent inside the request

    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.email == "reader@example.com"
    assert subscription.status is SubscriptionStatus.PENDING
    [confirmation] = mailbox.messages
    assert confirmation["To"] == "reader@example.com"
    assert "Explaining Ukraine with Kate Tsurkan" in confirmation["Subject"]
    assert link_path(confirmation, "/confirm/")


def test_answer_does_not_reveal_the_address_state(app, client, runner, mailbox):
    """New, pending, confirmed and unsubscribed: the same status and the same body."""
    email = "reader@example.com"

    def answer() -> tuple[int, bytes]:
        response = client.post(SUBSCRIPTIONS, json={"email": email})
        return response.status_code, response.get_data()

    def status() -> SubscriptionStatus:
        [subscription] = subscriptions(app)
        return subscription.status

    answers = {"new": answer()}
    deliver(runner)
    assert status() is SubscriptionStatus.PENDING
    answers["pending"] = answer()

    deliver(runner)
    confirmed = client.post(link_path(mailbox.messages[0], "/confirm/"))
    assert confirmed.status_code == 303
    assert status() is SubscriptionStatus.CONFIRMED
    answers["confirmed"] = answer()

    deliver(runner)
    unsubscribed = client.post(link_path(mailbox.messages[-1], "/unsubscribe/"))
    assert unsubscribed.status_code == 200
    assert status() is SubscriptionStatus.UNSUBSCRIBED
    answers["unsubscribed"] = answer()

    assert len(set(answers.values())) == 1, answers
    status_code, body = answers["new"]
    assert status_code == 202
    assert json.loads(body) == {
        "status": "pending",
        "message": PENDING_MESSAGE,
        "sent_to": "r***@example.com",
        "webmail": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"mail": "reader@example.com"}, id="misspelt-field"),
        pytest.param({"email": None}, id="null"),
        pytest.param({"email": 42}, id="number"),
        pytest.param({"email": True}, id="boolean"),
        pytest.param({"email": ["reader@example.com"]}, id="list"),
        pytest.param({"email": {"address": "reader@example.com"}}, id="object"),
        pytest.param({"email": ""}, id="empty"),
        pytest.param({"email": "   "}, id="blank"),
        pytest.param({"email": "reader"}, id="no-at"),
        pytest.param({"email": "@example.com"}, id="no-local-part"),
        pytest.param({"email": "reader@"}, id="no-domain"),
        pytest.param({"email": "reader@@example.com"}, id="two-ats"),
        pytest.param({"email": "reader@example..com"}, id="empty-domain-label"),
        pytest.param({"email": "rea der@example.com"}, id="space"),
        pytest.param({"email": "Reader <reader@example.com>"}, id="display-name"),
        pytest.param({"email": "reader@" + "a" * 320 + ".com"}, id="overlong"),
        pytest.param({"email": "rea\x00der@example.com"}, id="nul-character"),
    ],
)
def test_invalid_address_is_422_with_field_errors(app, client, body):
    response = client.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    assert response.get_json() == {"errors": {"email": [INVALID_ADDRESS]}}
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        pytest.param(
            '{"email": "reader@example.com"}', "text/plain", 415, id="json-sent-as-text-plain"
        ),
        pytest.param(
            "email=reader%40example.com",
            "application/x-www-form-urlencoded",
            415,
            id="form-encoded",
        ),
        pytest.param(
            "--x\r\nContent-Disposition: form-data; name=email\r\n\r\nreader@example.com\r\n--x--",
            "multipart/form-data; boundary=x",
            415,
            id="multipart",
        ),
        pytest.param('{"email": "reader@example.com"}', None, 415, id="no-content-type"),
        pytest.param('{"email": "reader@example.com"', "application/json", 400, id="truncated"),
        pytest.param("{'email': 'reader@example.com'}", "application/json", 400, id="not-json"),
        pytest.param("", "application/json", 400, id="empty-body"),
        pytest.param(
            b'{"email": "\xff\xfe@example.com"}', "application/json", 400, id="invalid-utf-8"
        ),
        pytest.param('["reader@example.com"]', "application/json", 400, id="array"),
        pytest.param('"reader@example.com"', "application/json", 400, id="string"),
        pytest.param("42", "application/json", 400, id="number"),
        pytest.param("null", "application/json", 400, id="null"),
        pytest.param("[" * 30000 + "]" * 30000, "application/json", 400, id="deep-array"),
        pytest.param(
            '{"a":' * 10000 + "1" + "}" * 10000, "application/json", 400, id="deep-object"
        ),
        # RFC 8259: JSON between systems is UTF-8 (Python's parser would guess UTF-16).
        pytest.param(
            '{"email": "reader@example.com"}'.encode("utf-16"), "application/json", 400, id="utf-16"
        ),
    ],
)
def test_wrong_body_is_a_json_4xx(app, client, data, content_type, status):
    response = client.post(SUBSCRIPTIONS, data=data, content_type=content_type)
    assert_json_error(response, status)
    assert_nothing_stored(app)


def test_oversized_body_is_413_in_json(app, client):
    body = json.dumps({"email": "reader@example.com", "padding": "x" * MAX_BODY})
    assert len(body) > MAX_BODY
    response = client.post(SUBSCRIPTIONS, data=body, content_type="application/json")
    assert_json_error(response, 413)
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param("no-such-letter", id="unknown"),
        pytest.param("Explaining-Ukraine", id="other-case"),
        pytest.param("a%00b", id="nul-byte"),
        pytest.param("%C3%BCkraine", id="non-ascii"),
        pytest.param("x" * 200, id="overlong"),
    ],
)
def test_unknown_newsletter_is_404_in_json(app, client, slug):
    response = client.post(
        f"/api/v1/newsletters/{slug}/subscriptions", json={"email": "reader@example.com"}
    )
    assert_json_error(response, 404)
    assert_json_error(client.get(f"/api/v1/newsletters/{slug}"), 404)
    assert_json_error(preflight(client, ALLOWED, path=f"/api/v1/newsletters/{slug}"), 404)
    assert_nothing_stored(app)


def test_get_on_subscriptions_is_405_in_json(app, client):
    response = client.get(SUBSCRIPTIONS)
    assert_json_error(response, 405)
    assert "post" in header_items(response, "Allow")


def test_preflight_from_an_allowed_origin(app, client, allowed):
    """The browser may POST JSON: exact origin, methods, headers, cached, no credentials."""
    response = preflight(client, allowed)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == allowed
    assert "post" in header_items(response, "Access-Control-Allow-Methods")
    assert "content-type" in header_items(response, "Access-Control-Allow-Headers")
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "origin" in header_items(response, "Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_preflight_from_another_origin_is_refused(app, client, allowed, origin):
    response = preflight(client, origin)
    assert_json_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_is_refused_while_no_origin_is_allowed(app, client):
    """A newsletter nobody was allowed to embed refuses every site."""
    response = preflight(client, ALLOWED)
    assert_json_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_post_from_an_allowed_origin_is_readable(app, client, runner, allowed):
    response = client.post(
        SUBSCRIPTIONS, json={"email": "reader@example.com"}, headers={"Origin": allowed}
    )
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == allowed
    assert "origin" in header_items(response, "Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers
    deliver(runner)
    assert count(app, Subscription) == 1


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_post_from_another_origin_is_403_and_stores_nothing(app, client, allowed, origin):
    response = client.post(
        SUBSCRIPTIONS, json={"email": "reader@example.com"}, headers={"Origin": origin}
    )
    body = assert_json_error(response, 403)
    assert body["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"not json", "application/json"), (b"[1]", "application/json"), (b"email=x", "text/plain")],
)
def test_another_origin_is_refused_before_its_body_is_read(
    app, client, allowed, body, content_type
):
    """Whatever it sent, a site the newsletter does not allow learns only that it may not."""
    response = client.post(
        SUBSCRIPTIONS,
        data=body,
        headers={"Origin": FOREIGN_ORIGINS[0], "Content-Type": content_type},
    )
    assert assert_json_error(response, 403)["error"] == "origin_not_allowed"
    assert_nothing_stored(app)


def test_post_without_origin_is_served(app, client, runner, allowed):
    """Scripts and servers send no Origin: they are served (rate limits cover them)."""
    response = client.post(SUBSCRIPTIONS, json={"email": "reader@example.com"})
    assert response.status_code == 202
    assert "Access-Control-Allow-Origin" not in response.headers
    deliver(runner)
    assert count(app, Subscription) == 1


def test_validation_error_is_readable_by_an_allowed_origin(app, client, allowed):
    """embed.js must be able to read the 422 to show the message next to the field."""
    response = client.post(SUBSCRIPTIONS, json={"email": "nope"}, headers={"Origin": allowed})
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"email": [INVALID_ADDRESS]}}
    assert response.headers["Access-Control-Allow-Origin"] == allowed
    assert_nothing_stored(app)


def test_newsletter_details_for_an_allowed_origin(app, client, allowed):
    response = client.get(NEWSLETTER, headers={"Origin": allowed})
    assert response.status_code == 200
    assert response.get_json() == {
        "slug": SLUG,
        "name": "Explaining Ukraine with Kate Tsurkan",
        "description": (
            "A weekly letter on the war, the politics and the people of Ukraine, "
            "explained for readers everywhere."
        ),
        "style": "",  # no brand: form.css's colours
        "logo_url": "",
        "form": form_words.as_json(),  # the words embed.js renders (test_form_words.py)
    }
    assert response.headers["Access-Control-Allow-Origin"] == allowed
    assert "origin" in header_items(response, "Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_newsletter_details_are_refused_to_another_origin(app, client, allowed):
    response = client.get(NEWSLETTER, headers={"Origin": "https://evil.example"})
    assert_json_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_newsletter_preflight_follows_the_allowed_origins(app, client, allowed):
    """A preflight for the details URL is answered like the subscriptions one."""
    granted = preflight(client, allowed, path=NEWSLETTER, method="GET")
    assert granted.status_code == 204
    assert granted.headers["Access-Control-Allow-Origin"] == allowed
    assert "get" in header_items(granted, "Access-Control-Allow-Methods")
    refused = preflight(client, "https://evil.example", path=NEWSLETTER, method="GET")
    assert_json_error(refused, 403)
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_consent_evidence_takes_the_page_from_the_body(app, client, runner, allowed):
    page = "https://news.example.com/2024/05/ukraine-explained?ref=inline"
    response = client.post(
        SUBSCRIPTIONS,
        json={"email": "reader@example.com", "source_url": page},
        headers={
            "Origin": allowed,
            "Referer": "https://news.example.com/",
            "User-Agent": "Reader's browser/2.0",
        },
    )
    assert response.status_code == 202
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.source == "script"
    assert subscription.source_url == page
    assert subscription.signup_ip == "127.0.0.1"
    assert subscription.signup_user_agent == "Reader's browser/2.0"
    assert subscription.signup_at is not None


def test_consent_evidence_falls_back_to_the_referer(app, client, runner, allowed):
    referer = "https://news.example.com/2024/06/another-article"
    response = client.post(
        SUBSCRIPTIONS,
        json={"email": "reader@example.com"},
        headers={"Origin": allowed, "Referer": referer},
    )
    assert response.status_code == 202
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.source == "script"
    assert subscription.source_url == referer


def test_a_program_signup_is_recorded_as_api_and_a_browser_one_as_script(
    app, client, runner, allowed
):
    """A program sends no Origin; a browser on an allowed site (embed.js) does."""
    client.post(SUBSCRIPTIONS, json={"email": "program@example.com"})
    client.post(SUBSCRIPTIONS, json={"email": "browser@example.com"}, headers={"Origin": allowed})
    deliver(runner)
    sources = {row.reader.email: row.source for row in subscriptions(app)}
    assert sources == {"program@example.com": "api", "browser@example.com": "script"}


def test_honeypot_gets_the_success_answer_and_nothing_happens(app, client, runner, mailbox):
    real = client.post(SUBSCRIPTIONS, json={"email": "first@example.com"})
    # An address that masks alike (f***@example.com): the answer echoes it.
    bot = client.post(SUBSCRIPTIONS, json={"email": "fake@example.com", "website": "http://spam"})
    assert bot.status_code == real.status_code == 202
    assert bot.get_data() == real.get_data()  # a bot cannot tell it was caught
    deliver(runner)
    assert [item.email for item in subscriptions(app)] == ["first@example.com"]
    assert [message["To"] for message in mailbox.messages] == ["first@example.com"]


def test_no_api_answer_sets_a_cookie(app, allowed):
    """Browsers call the API with credentials omitted; it must not need or set cookies."""
    client = app.test_client()
    responses = [
        preflight(client, allowed),
        preflight(client, "https://evil.example"),
        client.get(NEWSLETTER, headers={"Origin": allowed}),
        client.get("/api/v1/openapi.json"),
        client.post(
            SUBSCRIPTIONS, json={"email": "reader@example.com"}, headers={"Origin": allowed}
        ),
        client.post(SUBSCRIPTIONS, json={"email": "nope"}, headers={"Origin": allowed}),
        client.post(SUBSCRIPTIONS, json={"email": "a@example.com"}, headers={"Origin": "null"}),
        client.post(SUBSCRIPTIONS, data="email=a", content_type="text/plain"),
        client.post("/api/v1/newsletters/missing/subscriptions", json={"email": "a@example.com"}),
        client.get(SUBSCRIPTIONS),
    ]
    assert {response.status_code for response in responses} == {
        200,
        202,
        204,
        403,
        404,
        405,
        415,
        422,
    }
    for response in responses:
        assert "Set-Cookie" not in response.headers, response.request.path
    assert client.get_cookie("session") is None


OTHER_SLUG = "other-newsletter"


@pytest.fixture
def other_newsletter(app, runner, allowed) -> str:
    """A second newsletter that allows no site, next to the first that allows ``ALLOWED``."""
    args = ["newsletters", "create", "--slug", OTHER_SLUG, "--name", "Other"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return f"/api/v1/newsletters/{OTHER_SLUG}"


def test_an_origin_allowed_by_one_newsletter_may_not_use_another(
    app, client, runner, other_newsletter
):
    """Each newsletter's list is its own: an origin allowed on A gets 403 from B's API."""
    for path in (other_newsletter, f"{other_newsletter}/subscriptions"):
        refused = preflight(client, ALLOWED, path=path)
        assert_json_error(refused, 403)
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "Access-Control-Allow-Methods" not in refused.headers
    response = client.post(
        f"{other_newsletter}/subscriptions",
        json={"email": "reader@example.com"},
        headers={"Origin": ALLOWED},
    )
    assert assert_json_error(response, 403)["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    deliver(runner)
    assert_nothing_stored(app)
    # The same origin still works on A, so the refusal above is B's list speaking.
    assert preflight(client, ALLOWED).headers["Access-Control-Allow-Origin"] == ALLOWED
