"""The success message names the address (masked) and links to its webmail, on our page,
in the iframe and in the API's answer; the thank-you page trusts only its signed parameter."""

import base64
import json
import re
import time
import types

import itsdangerous.timed
import pytest

from newsletter.webmail import BY_DOMAIN
from newsletter.webmail import webmail_for
from tests.reader import csrf_token
from tests.reader import shown_text
from tests.reader import sign_up

SLUG = "explaining-ukraine"
OTHER_SLUG = "weekly-digest"
SUBSCRIPTIONS = f"/api/v1/newsletters/{SLUG}/subscriptions"
THANK_YOU_PAGES = [f"/newsletters/{SLUG}/subscribed", f"/newsletters/{SLUG}/embed/subscribed"]
GENERIC = "Thank you for signing up for this newsletter. We've sent you a confirmation email."
SENT_TO = "Thank you for signing up for this newsletter. We've sent a confirmation email to {}."
WEBMAIL_LINK = re.compile(
    r'<a class="button" href="([^"]+)" target="_blank" rel="noopener noreferrer">([^<]+)</a>'
)
MINUTE = 60

# What the reader typed, what the answer shows, and the webmail link it offers.
ADDRESSES = [
    pytest.param(
        "reader@gmail.com", "r***@gmail.com", ("https://mail.google.com/", "Open Gmail"), id="gmail"
    ),
    pytest.param(
        " Reader@UKR.NET ", "R***@ukr.net", ("https://mail.ukr.net/", "Open Ukr.net"), id="ukr-net"
    ),
    pytest.param(
        "reader@hotmail.com",
        "r***@hotmail.com",
        ("https://outlook.live.com/mail/", "Open Outlook"),
        id="outlook",
    ),
    pytest.param("reader@gmial.com", "r***@gmial.com", None, id="typo-no-webmail"),
    pytest.param("reader@example.com", "r***@example.com", None, id="unknown-domain"),
]


def thank_you(client, email: str, slug: str = SLUG):
    """Sign up on the newsletter's page and follow the redirect to the thank-you page."""
    response = sign_up(client, email, slug)
    assert response.status_code == 303
    return client.get(response.headers["Location"])


@pytest.mark.parametrize(("email", "masked", "link"), ADDRESSES)
def test_thank_you_page_names_the_address_and_its_webmail(app, client, email, masked, link):
    page = thank_you(client, email)
    assert page.status_code == 200
    assert SENT_TO.format(masked) in shown_text(page.text)
    assert f'<strong class="sent-to">{masked}</strong>' in page.text
    assert WEBMAIL_LINK.findall(page.text) == ([link] if link else [])
    assert email.strip() not in page.text


@pytest.mark.parametrize(("email", "masked", "link"), ADDRESSES)
def test_api_answer_names_the_address_and_its_webmail(app, client, email, masked, link):
    response = client.post(SUBSCRIPTIONS, json={"email": email})
    assert response.status_code == 202
    body = response.get_json()
    assert body["sent_to"] == masked
    expected = {"name": link[1].removeprefix("Open "), "url": link[0]} if link else None
    assert body["webmail"] == expected


def test_a_bot_that_fills_the_honeypot_with_no_address_gets_the_generic_thanks(app, client):
    page = client.get(f"/newsletters/{SLUG}").text
    posted = client.post(
        f"/newsletters/{SLUG}/subscribe",
        data={"email": "not an address", "website": "spam", "csrf_token": csrf_token(page)},
    )
    assert posted.headers["Location"] == f"/newsletters/{SLUG}/subscribed"
    assert GENERIC in shown_text(client.get(posted.headers["Location"]).text)
    answer = client.post(SUBSCRIPTIONS, json={"email": "not an address", "website": "spam"})
    assert answer.status_code == 202
    assert (answer.get_json()["sent_to"], answer.get_json()["webmail"]) == (None, None)


def _token(location: str) -> str:
    """The signed ``sent_to`` parameter of a redirect to the thank-you page."""
    [token] = re.findall(r"\?sent_to=([^&]+)$", location)
    return token


def _forged(token: str) -> str:
    """The token with its payload rewritten to name other words, its signature kept."""
    _payload, timestamp, signature = token.split(".")
    words = json.dumps([SLUG, "your account is blocked: call +1 555 0100"]).encode()
    payload = base64.urlsafe_b64encode(words).decode().rstrip("=")
    return f"{payload}.{timestamp}.{signature}"


def _signed_ago(client, monkeypatch, seconds: int) -> str:
    """A sign-up's parameter as signed ``seconds`` ago: only the signer's clock moves."""
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: now - seconds))
        return _token(sign_up(client, "reader@gmail.com").headers["Location"])


def _other_newsletters(client, runner) -> str:
    result = runner.invoke(args=["newsletters", "create", "--slug", OTHER_SLUG, "--name", "Other"])
    assert result.exit_code == 0, result.output
    return _token(sign_up(client, "reader@gmail.com", OTHER_SLUG).headers["Location"])


PARAMETERS = {
    "missing": lambda client, runner, monkeypatch: None,
    "garbage": lambda client, runner, monkeypatch: "r***@gmail.com",
    "forged": lambda client, runner, monkeypatch: _forged(
        _token(sign_up(client, "reader@gmail.com").headers["Location"])
    ),
    "other-newsletter": lambda client, runner, monkeypatch: _other_newsletters(client, runner),
    "expired": lambda client, runner, monkeypatch: _signed_ago(client, monkeypatch, 11 * MINUTE),
}


@pytest.mark.parametrize("path", THANK_YOU_PAGES, ids=["page", "iframe"])
@pytest.mark.parametrize("case", PARAMETERS)
def test_without_a_valid_parameter_the_page_says_the_generic_thanks(
    app, client, runner, monkeypatch, path, case
):
    """No one can send a link that makes our page say what they want (phishing)."""
    token = PARAMETERS[case](client, runner, monkeypatch)
    page = client.get(path, query_string={"sent_to": token} if token else {})
    assert page.status_code == 200
    assert GENERIC in shown_text(page.text)
    assert "sent-to" not in page.text
    assert WEBMAIL_LINK.findall(page.text) == []


@pytest.mark.parametrize("path", THANK_YOU_PAGES, ids=["page", "iframe"])
def test_a_parameter_some_minutes_old_still_names_the_address(app, client, monkeypatch, path):
    """A slow network or a reload a few minutes later still shows the address."""
    token = _signed_ago(client, monkeypatch, 9 * MINUTE)
    page = client.get(path, query_string={"sent_to": token})
    assert SENT_TO.format("r***@gmail.com") in shown_text(page.text)
    assert WEBMAIL_LINK.findall(page.text) == [("https://mail.google.com/", "Open Gmail")]


@pytest.mark.parametrize(
    ("domain", "name"),
    [
        ("gmail.com", "Gmail"),
        ("googlemail.com", "Gmail"),
        ("outlook.com", "Outlook"),
        ("live.com", "Outlook"),
        ("msn.com", "Outlook"),
        ("yahoo.com", "Yahoo Mail"),
        ("ukr.net", "Ukr.net"),
        ("i.ua", "I.UA"),
        ("meta.ua", "META.UA"),
        ("icloud.com", "iCloud Mail"),
        ("me.com", "iCloud Mail"),
        ("proton.me", "Proton Mail"),
        ("protonmail.com", "Proton Mail"),
        ("gmx.de", "GMX"),
        ("gmx.net", "GMX"),
        ("web.de", "WEB.DE"),
    ],
)
def test_well_known_webmails(domain: str, name: str):
    webmail = webmail_for(f"r***@{domain}")
    assert webmail is not None
    assert webmail.name == name
    assert webmail.url.startswith("https://")


@pytest.mark.parametrize(
    "domain", ["example.com", "mail.ru", "bk.ru", "yandex.ru", "mail.gmail.com", "gmail.co"]
)
def test_other_domains_get_no_webmail_link(domain: str):
    """Unknown domains, look-alikes, and providers under sanctions (left out on purpose)."""
    assert webmail_for(f"r***@{domain}") is None


def test_every_webmail_link_is_https_and_no_sanctioned_provider_is_listed():
    assert all(webmail.url.startswith("https://") for webmail in BY_DOMAIN.values())
    assert not [domain for domain in BY_DOMAIN if domain.endswith((".ru", ".su", ".by"))]
