"""A newsletter's accent colour and logo: checked when an editor sets them (by the CLI or
the admin), then on its page, in its iframe, in what embed.js gets, and in its emails."""

import html
import re

import pytest

from newsletter import branding
from newsletter import newsletters
from newsletter.db import database
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import sign_up
from tests.several import BRIEFING
from tests.several import add_newsletters
from tests.several import sign_up_to_several
from tests.test_admin_pages import fill_in
from tests.test_embed import csp

ACCENT = "#7a1f2b"
LOGO = "https://cdn.example.net/brand/logo.png"
BRAND_CSS = f"/newsletters/{SLUG}/brand.css"


def brand(runner, *args: str):
    return runner.invoke(args=["newsletters", "update", SLUG, *args])


def stored(app) -> tuple[str, str]:
    with app.app_context(), database(app).transaction() as session:
        newsletter = newsletters.get_by_slug(session, SLUG)
        return newsletter.accent_color, newsletter.logo_url


@pytest.fixture
def branded(app, runner):
    result = brand(runner, "--accent-color", ACCENT.upper(), "--logo-url", LOGO)
    assert result.exit_code == 0, result.output
    assert stored(app) == (ACCENT, LOGO)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--accent-color", "red", "#rrggbb"),
        ("--accent-color", "#12345", "#rrggbb"),
        ("--accent-color", "#ffd500", "hard to read"),  # white on yellow: 1.5:1
        ("--logo-url", "http://cdn.example.net/logo.png", "https://"),
        ("--logo-url", "javascript:alert(1)", "https://"),
        ("--logo-url", 'https://cdn.example.net/a".png', "https://"),
        ("--logo-url", "https:///logo.png", "needs a host"),
    ],
)
def test_a_brand_that_is_not_one_is_refused_and_nothing_changes(
    app, runner, option, value, message
):
    result = brand(runner, option, value)
    assert result.exit_code != 0
    assert message in result.output
    assert stored(app) == ("", "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_sets_and_refuses_a_brand(app, runner):
    editor = signed_in_client(app, runner)
    edit = f"/admin/newsletters/{SLUG}/edit"
    fields = {"name": "Explaining Ukraine", "description": "", "allowed_origins": ""}
    refused = fill_in(editor, edit, **fields, accent_color="#ffff00", logo_url="")
    assert refused.status_code == 422
    assert "hard to read" in html.unescape(refused.text)
    assert stored(app) == ("", "")
    saved = fill_in(editor, edit, **fields, accent_color=ACCENT, logo_url=LOGO)
    assert saved.status_code == 303
    assert stored(app) == (ACCENT, LOGO)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", [f"/newsletters/{SLUG}", f"/newsletters/{SLUG}/embed"])
def test_the_page_and_the_frame_wear_the_brand(client, branded, path):
    page = client.get(path)
    assert f'href="{BRAND_CSS}"' in page.text
    assert f'<img class="signup__logo" src="{LOGO}" alt=""' in page.text
    assert csp(page)["img-src"] == ["'self'", "data:", "https://cdn.example.net"]
    stylesheet = client.get(BRAND_CSS)
    assert stylesheet.mimetype == "text/css"
    assert f"--accent: {ACCENT};" in stylesheet.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_front_page_allows_every_newsletters_logo(app, client, runner, branded):
    add_newsletters(app)
    other_logo = "https://images.example.org/briefing.png"
    result = runner.invoke(args=["newsletters", "update", BRIEFING, "--logo-url", other_logo])
    assert result.exit_code == 0, result.output
    page = client.get("/")
    assert f'src="{LOGO}"' in page.text and f'src="{other_logo}"' in page.text
    assert csp(page)["img-src"] == [
        "'self'",
        "data:",
        "https://cdn.example.net",
        "https://images.example.org",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_a_brand_the_page_has_the_services_look(client):
    page = client.get(f"/newsletters/{SLUG}")
    assert "brand.css" not in page.text
    assert "signup__logo" not in page.text
    assert csp(page)["img-src"] == ["'self'", "data:"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_embed_js_gets_the_brand(client, branded):
    face = client.get(f"/api/v1/newsletters/{SLUG}").get_json()
    assert face["logo_url"] == LOGO
    assert f"--accent: {ACCENT};" in face["style"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_emails_wear_the_brand(client, runner, mailbox, branded):
    sign_up(client, "reader@example.com")
    deliver(runner)
    part = html_part(mailbox.messages[0])
    assert re.search(rf'<td align="center" bgcolor="{ACCENT}"', part)
    assert f"border-top:4px solid {ACCENT}" in part
    assert f'<img src="{LOGO}"' in part


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_email_about_several_newsletters_keeps_the_services_colours(
    app, client, runner, mailbox, branded
):
    add_newsletters(app)
    sign_up_to_several(client, "reader@example.com", [SLUG, BRIEFING])
    deliver(runner)
    [message] = mailbox.messages
    part = html_part(message)
    assert re.search(rf'<td align="center" bgcolor="{branding.DEFAULT_ACCENT}"', part)
    assert ACCENT not in part
    assert LOGO not in part
