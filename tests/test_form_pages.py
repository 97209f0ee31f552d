"""A signup form's page is rendered once and kept (``newsletter.web.form_pages``); every
answer that serves it still carries the visitor's own CSRF token, the logo's origin in its
policy, the reader's language, and the newsletter as it is now."""

import pytest

from tests.reader import csrf_token
from tests.several import ALL_THREE
from tests.several import BRIEFING
from tests.several import add_newsletters
from tests.test_embed import csp

SLUG = "explaining-ukraine"
PAGE = f"/newsletters/{SLUG}"
SUBSCRIBE = f"{PAGE}/subscribe"
LOGO = "https://cdn.example.net/brand/logo.png"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_each_visitor_gets_a_token_of_their_own_that_only_their_session_accepts(app):
    first, second = app.test_client(), app.test_client()
    first_token = csrf_token(first.get(PAGE).text)
    second_token = csrf_token(second.get(PAGE).text)
    assert first_token != second_token
    stolen = first.post(SUBSCRIBE, data={"email": "a@example.com", "csrf_token": second_token})
    assert stolen.status_code == 400
    for client, token, email in (
        (first, first_token, "a@example.com"),
        (second, second_token, "b@example.com"),
    ):
        answer = client.post(SUBSCRIBE, data={"email": email, "csrf_token": token})
        assert answer.status_code == 303


def test_every_answer_of_a_branded_form_allows_its_logo(client, runner):
    result = runner.invoke(args=["newsletters", "update", SLUG, "--logo-url", LOGO])
    assert result.exit_code == 0, result.output
    for _ in range(2):
        page = client.get(PAGE)
        assert f'src="{LOGO}"' in page.text
        assert csp(page)["img-src"] == ["'self'", "data:", "https://cdn.example.net"]


def test_the_kept_page_is_in_each_readers_language(client):
    chosen = client.get(f"{PAGE}?lang=uk")
    asked = client.get(PAGE, headers={"Accept-Language": "uk"})
    english = client.get(PAGE)
    assert chosen.headers["Content-Language"] == asked.headers["Content-Language"] == "uk"
    assert '<html lang="uk">' in chosen.text and '<html lang="uk">' in asked.text
    assert f'action="{SUBSCRIBE}?lang=uk"' in chosen.text
    assert f'action="{SUBSCRIBE}"' in asked.text
    assert english.headers["Content-Language"] == "en" and '<html lang="en">' in english.text


def test_an_edited_newsletter_is_on_its_next_form(client, runner):
    assert "Explaining Ukraine" in client.get(PAGE).text
    result = runner.invoke(args=["newsletters", "update", SLUG, "--name", "Ukraine Explained"])
    assert result.exit_code == 0, result.output
    assert "Ukraine Explained" in client.get(PAGE).text


def test_the_form_for_several_posts_to_its_own_url(app, client):
    add_newsletters(app)
    for offered in (ALL_THREE, f"{BRIEFING},{SLUG}"):
        page = client.get(f"/subscribe?newsletters={offered}")
        assert f'action="/subscribe?newsletters={offered}"' in page.text
