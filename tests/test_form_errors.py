"""A signup form's errors, as the reader meets them on our page and in the iframe.

A refusal of the whole request (too many signups: 429) is answered by the form itself:
inside the frame, under the frame's own framing policy, with the address as typed and
the wait in words from ``Retry-After``, in the reader's language. Every error sits under
the field, which it describes and which gets the focus; the title says "Error: …"; only
an error of the address marks the address invalid ("this form has expired" does not).
The embedded success says what to do next.
"""

import re

import pytest

from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import shown_text
from tests.test_embed import EMBED
from tests.test_embed import FORM_EXPIRED
from tests.test_embed import allow
from tests.test_embed import csp
from tests.test_embed import open_frame
from tests.test_embed import submit

ALLOWED = "https://news.example.com"
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
FIELD = re.compile(r'<input class="signup__input"[^>]*>')
TYPED = "Reader.Typed@example.com"


@pytest.fixture
def settings(settings):
    settings.update(SIGNUP_RATE_LIMIT="1 per minute")
    return settings


def title(response) -> str:
    match = TITLE.search(response.text)
    assert match, response.text
    return " ".join(match.group(1).split())


def field(response) -> str:
    """The address field's tag."""
    match = FIELD.search(response.text)
    assert match, response.text
    return " ".join(match.group(0).split())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "You have tried this too often. Please try again in 1 minute."),
        ("uk", "Забагато спроб. Спробуйте знову через 1 хвилину."),
    ],
)
def test_too_many_signups_in_the_frame_stay_in_the_frame(app, client, runner, language, words):
    allow(runner, ALLOWED)
    headers = {"Sec-Fetch-Site": "same-origin", "Accept-Language": language}
    page = open_frame(client, **headers)
    assert submit(client, page, "first@example.com", headers=headers).status_code == 303
    refused = submit(client, page, TYPED, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    # Framed by the site that embeds it, as the form is: not the broken-frame icon.
    assert csp(refused)["frame-ancestors"] == [ALLOWED]
    assert "X-Frame-Options" not in refused.headers
    assert 'class="frame"' in refused.text
    assert words in refused.text
    assert f'value="{TYPED}"' in field(refused)
    assert "aria-invalid" not in field(refused)
    assert "autofocus" in field(refused)
    assert title(refused).startswith("Помилка: " if language == "uk" else "Error: ")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_too_many_signups_in_the_frame_for_several_stay_in_the_frame(app, client, runner):
    allow(runner, ALLOWED)
    frame = client.get("/embed")
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', frame.text)
    assert token
    data = {"email": TYPED, "form_token": token.group(1), "newsletters": SLUG}
    headers = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/embed", data=data, headers=headers).status_code == 303
    refused = client.post("/embed", data=data, headers=headers)
    assert refused.status_code == 429
    assert csp(refused)["frame-ancestors"] == [ALLOWED]
    assert 'class="frame"' in refused.text
    assert "Please try again in 1 minute." in refused.text
    assert f'value="{TYPED}"' in field(refused)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_too_many_signups_on_our_page_keep_the_address(client):
    for email in ("first@example.com", TYPED):
        page = client.get(f"/newsletters/{SLUG}")
        response = client.post(
            f"/newsletters/{SLUG}/subscribe",
            data={"email": email, "csrf_token": csrf_token(page.text)},
        )
    assert response.status_code == 429
    assert "Please try again in 1 minute." in response.text
    assert f'value="{TYPED}"' in field(response)
    assert title(response).startswith("Error: ")
    assert csp(response)["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_expired_frame_does_not_mark_a_valid_address_invalid(app, client, runner):
    allow(runner, ALLOWED)
    page = open_frame(client)
    response = submit(client, page, "reader@example.com", form_token="garbage")
    assert response.status_code == 422
    assert FORM_EXPIRED in response.text
    tag = field(response)
    assert "aria-invalid" not in tag
    assert 'aria-describedby="explaining-ukraine-email-error"' in tag
    assert 'value="reader@example.com"' in tag


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_expired_page_does_not_mark_a_valid_address_invalid(client):
    client.get(f"/newsletters/{SLUG}")
    response = client.post(
        f"/newsletters/{SLUG}/subscribe",
        data={"email": "reader@example.com", "csrf_token": "stale"},
    )
    assert response.status_code == 400
    assert FORM_EXPIRED in response.text
    assert "aria-invalid" not in field(response)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", [f"/newsletters/{SLUG}/subscribe", EMBED])
def test_an_invalid_address_is_marked_described_focused_and_titled(app, client, runner, path):
    allow(runner, ALLOWED)
    if path == EMBED:
        response = submit(client, open_frame(client), "not-an-address")
    else:
        page = client.get(f"/newsletters/{SLUG}")
        response = client.post(
            path, data={"email": "not-an-address", "csrf_token": csrf_token(page.text)}
        )
    assert response.status_code == 422
    tag = field(response)
    assert 'aria-invalid="true"' in tag
    assert "autofocus" in tag
    assert title(response).startswith("Error: ")
    assert 'role="alert"' in response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_embedded_success_says_what_to_do_next(app, client, runner):
    allow(runner, ALLOWED)
    done = client.get(submit(client, open_frame(client), "reader@example.com").location)
    assert "confirmation email to r***@example.com" in shown_text(done.text)
    assert "Open the email and press its button to confirm." in done.text
    assert "Look in your spam folder." in done.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_newsletters_frame_says_so_in_the_frames_look(client):
    response = client.get("/newsletters/nope/embed")
    assert response.status_code == 404
    assert 'class="frame"' in response.text
    assert title(response).startswith("Error: ")
