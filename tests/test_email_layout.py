"""Every email's HTML part as a phone and a desktop mail app lay it out, in Chromium.

Each email (the reader's in both languages, the editors' signup-wave alert in English as
the admin is; a 120-character newsletter name, a long article URL) at 375 px (an iPhone)
and 600 px (a desktop reading pane): the document is no wider than the viewport (a link
or name that cannot wrap cuts the card off on the right), the button is a tap target of
at least 44 px, and axe-core finds nothing serious. The head carries what mail apps read:
a charset, a viewport (without it a phone lays the email out at 980 px and shrinks it), a
title and the language. And the footer says who writes and why.
"""

import re

import pytest

from newsletter import create_app
from newsletter.config import ConfigurationError
from tests.browser import serious_violations
from tests.every_email import READER
from tests.every_email import editor_emails
from tests.every_email import every_email
from tests.reader import html_part
from tests.reader import shown_text
from tests.reader import text_part

WIDTHS = (375, 600)
MIN_TAP_TARGET = 44
# The emails with a button: the one thing to do.
BUTTONS = ("confirmation", "manage_link", "signup_wave")
LANGUAGES = ("en", "uk")
MASKED = "r***@example.com"


@pytest.fixture
def settings(settings):
    settings.update(
        PUBLISHER_NAME="Kyiv Independent Newsroom",
        PUBLISHER_URL="https://www.example.org",
        CONTACT_ADDRESS="letters@example.org",
        POSTAL_ADDRESS="vul. Khreshchatyk 1, Kyiv 01001, Ukraine",
    )
    return settings


def assert_fits_a_phone_with_a_tap_sized_button(axe_page, kind: str, language: str, html: str):
    """At each width: no wider than the screen, its button (if any) a tap target within
    it; and nothing serious for axe."""
    axe_page.set_content(html)
    for width in WIDTHS:
        axe_page.set_viewport_size({"width": width, "height": 800})
        document_width = axe_page.evaluate("document.documentElement.scrollWidth")
        assert document_width <= width, (kind, language, width, document_width)
        if kind in BUTTONS:
            box = axe_page.locator("td[bgcolor] > a").bounding_box()
            assert box is not None and box["height"] >= MIN_TAP_TARGET, (kind, box)
            assert box["x"] + box["width"] <= width, (kind, box)
    assert serious_violations(axe_page) == [], (kind, language)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_fits_a_phone_with_a_tap_sized_button(
    client, runner, mailbox, axe_page, language
):
    emails = every_email(client, runner, mailbox, language)
    assert list(emails) == ["confirmation", "welcome", "manage_link", "erasure_notice"]
    for kind, message in emails.items():
        assert_fits_a_phone_with_a_tap_sized_button(axe_page, kind, language, html_part(message))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_editors_email_fits_a_phone_with_a_tap_sized_button(
    app, client, runner, mailbox, axe_page
):
    for kind, message in editor_emails(app, client, runner, mailbox).items():
        html = html_part(message)
        assert '<html lang="en">' in html, kind
        assert_fits_a_phone_with_a_tap_sized_button(axe_page, kind, "en", html)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_email_has_a_head_that_mail_apps_read(client, runner, mailbox):
    for kind, message in every_email(client, runner, mailbox, "uk").items():
        html = html_part(message)
        assert '<html lang="uk">' in html, kind
        assert '<meta charset="utf-8">' in html, kind
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in html, kind
        title = re.search(r"<title>([^<]+)</title>", html)
        assert title and shown_text(title.group(1)) == str(message["Subject"]), kind


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_emails_say_who_writes_why_and_where(client, runner, mailbox):
    emails = every_email(client, runner, mailbox, "en")
    for kind, message in emails.items():
        for part in (shown_text(html_part(message)), " ".join(text_part(message).split())):
            assert "From Kyiv Independent Newsroom" in part, kind
            assert "Questions? Write to letters@example.org." in part, kind
            # The postal address on the welcome and later mail; not before consent.
            has_postal = "vul. Khreshchatyk 1, Kyiv 01001, Ukraine" in part
            assert has_postal == (kind != "confirmation"), kind
            assert READER not in part, kind
        assert 'href="mailto:letters@example.org"' in html_part(message)
    for kind in ("confirmation", "welcome"):
        words = shown_text(html_part(emails[kind]))
        assert re.search(
            rf"You \({re.escape(MASKED)}\) signed up at "
            r"www\.example\.org/news/2026/11/30/how-kyiv\S+ on \w+ \d+, \d{4}\.",
            words,
        ), words


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_emails_fall_back_to_the_mail_sender_as_publisher(client, runner, mailbox, app):
    app.config.update(PUBLISHER_NAME=None, PUBLISHER_URL=None, CONTACT_ADDRESS=None)
    app.config.update(POSTAL_ADDRESS="")
    welcome = every_email(client, runner, mailbox, "en")["welcome"]
    words = shown_text(html_part(welcome))
    assert "From Newsletter, news.example.org." in words
    assert "Questions? Write to newsletter@example.org." in words
    assert "Khreshchatyk" not in words


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("setting", "value"), [("PUBLISHER_URL", "example.org"), ("CONTACT_ADDRESS", "letters")]
)
def test_a_publisher_site_or_contact_that_is_not_one_is_refused(settings, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        create_app(settings | {setting: value})
