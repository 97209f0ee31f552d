"""The JSON API about several newsletters: ``GET /api/v1/newsletters`` and
``POST /api/v1/subscriptions``; their answers, error shapes and CORS, where an origin
may use a request only if every newsletter it names allows that origin."""

import pytest

from newsletter.models import SignupRequest
from newsletter.web import form_words
from tests.reader import count
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import subscriptions
from tests.several import BRIEFING
from tests.several import DIGEST
from tests.several import PARTNER_SITE
from tests.several import PRIVATE
from tests.several import SHARED_SITE
from tests.several import SLUG
from tests.several import add_newsletters
from tests.test_api import assert_json_error
from tests.test_api import preflight

NEWSLETTERS = "/api/v1/newsletters"
SUBSCRIPTIONS = "/api/v1/subscriptions"
WORDS = form_words.current()


@pytest.fixture(autouse=True)
def three_newsletters(app) -> None:
    add_newsletters(app)


def subscribe(client, body: dict, **headers):
    return client.post(SUBSCRIPTIONS, json=body, headers=headers)


def test_the_newsletters_and_the_form_words_in_one_answer(client):
    response = client.get(NEWSLETTERS)
    assert response.status_code == 200
    body = response.get_json()
    assert [newsletter["slug"] for newsletter in body["newsletters"]] == [SLUG, BRIEFING, DIGEST]
    assert body["newsletters"][1] == {
        "slug": BRIEFING,
        "name": "The Daily Briefing",
        "description": "The morning's news in five minutes.",
        "style": "",
        "logo_url": "",
    }
    assert body["form"] == form_words.as_json()
    named = client.get(f"{NEWSLETTERS}?newsletters={DIGEST},{SLUG}").get_json()
    assert [newsletter["slug"] for newsletter in named["newsletters"]] == [SLUG, DIGEST]


@pytest.mark.parametrize("named", ["nope", PRIVATE, f"{SLUG},nope"])
def test_an_unknown_or_private_newsletter_is_404(client, named):
    body = assert_json_error(client.get(f"{NEWSLETTERS}?newsletters={named}"), 404)
    assert body["error"] == "unknown_newsletter"


@pytest.mark.parametrize(
    ("origin", "named", "allowed"),
    [
        (SHARED_SITE, f"{SLUG},{BRIEFING},{DIGEST}", True),
        (PARTNER_SITE, BRIEFING, True),
        (PARTNER_SITE, f"{BRIEFING},{DIGEST}", False),
        (PARTNER_SITE, "", False),  # every public newsletter: not all allow it
        ("https://evil.example", BRIEFING, False),
    ],
)
def test_cors_needs_every_newsletter_to_allow_the_origin(app, client, origin, named, allowed):
    listed = client.get(f"{NEWSLETTERS}?newsletters={named}", headers={"Origin": origin})
    signup = subscribe(
        client,
        {"email": "reader@example.com", "newsletters": named.split(",") if named else [SLUG]},
        Origin=origin,
    )
    if allowed:
        assert listed.status_code == 200
        assert listed.headers["Access-Control-Allow-Origin"] == origin
        assert signup.status_code == 202
        assert signup.headers["Access-Control-Allow-Origin"] == origin
    else:
        assert assert_json_error(listed, 403)["error"] == "origin_not_allowed"
        assert assert_json_error(signup, 403)["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in signup.headers
        assert count(app, SignupRequest) == 0


def test_a_refused_origin_is_refused_before_the_fields_are_validated(app, client):
    response = subscribe(
        client, {"email": "not an address", "newsletters": [BRIEFING, DIGEST]}, Origin=PARTNER_SITE
    )
    assert assert_json_error(response, 403)["error"] == "origin_not_allowed"


@pytest.mark.parametrize(
    ("origin", "status"),
    [(SHARED_SITE, 204), (PARTNER_SITE, 204), ("https://evil.example", 403)],
)
def test_preflight_answers_origins_some_public_newsletter_allows(client, origin, status):
    for path in (SUBSCRIPTIONS, NEWSLETTERS):
        response = preflight(client, origin, path=path)
        assert response.status_code == status
        if status == 204:
            assert response.headers["Access-Control-Allow-Origin"] == origin
            assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_a_signup_to_several_is_accepted_with_one_confirmation(app, client, runner, mailbox):
    response = subscribe(
        client, {"email": "reader@gmail.com", "newsletters": [DIGEST, BRIEFING]}, Origin=SHARED_SITE
    )
    assert response.status_code == 202
    assert response.get_json() == {
        "status": "pending",
        "message": WORDS.thanks_several,
        "sent_to": "r***@gmail.com",
        "webmail": {"name": "Gmail", "url": "https://mail.google.com/"},
    }
    deliver(runner)
    [email] = mailbox.messages
    assert (
        email["Subject"] == "Confirm your subscription to The Daily Briefing and The Weekly Digest"
    )
    client.post(link_path(email, "/confirm/"))
    assert {row.newsletter.slug: row.status for row in subscriptions(app)} == {
        BRIEFING: "confirmed",
        DIGEST: "confirmed",
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"email": "reader@example.com", "newsletters": []}, {"newsletters": [WORDS.choose_one]}),
        ({"email": "reader@example.com"}, {"newsletters": [WORDS.choose_one]}),
        ({"email": "reader@example.com", "newsletters": SLUG}, {"newsletters": [WORDS.choose_one]}),
        ({"email": "reader@example.com", "newsletters": [1]}, {"newsletters": [WORDS.choose_one]}),
        (
            {"email": "reader@example.com", "newsletters": [SLUG, "nope"]},
            {"newsletters": [WORDS.unknown_newsletter.format(slug="nope")]},
        ),
        (
            {"email": "reader@example.com", "newsletters": [PRIVATE]},
            {"newsletters": [WORDS.unknown_newsletter.format(slug=PRIVATE)]},
        ),
        (
            {"email": "reader@example.com", "newsletters": ["Not A Slug\u0000"]},
            {"newsletters": [WORDS.unknown_newsletter.format(slug="Not A Slug\u0000")]},
        ),
        ({"email": "nobody", "newsletters": [SLUG]}, {"email": [WORDS.invalid_email]}),
        (
            {"newsletters": []},
            {"email": [WORDS.invalid_email], "newsletters": [WORDS.choose_one]},
        ),
    ],
)
def test_each_error_has_its_shape(app, client, body, errors):
    response = subscribe(client, body)
    assert response.status_code == 422, response.text
    assert response.get_json() == {"errors": errors}
    assert count(app, SignupRequest) == 0


def test_honeypot_gets_the_success_answer_and_nothing_is_stored(app, client):
    response = subscribe(
        client, {"email": "bot@example.com", "newsletters": [SLUG], "website": "spam"}
    )
    assert response.status_code == 202
    assert count(app, SignupRequest) == 0
