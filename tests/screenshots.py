"""``make screenshots``: every reader's page and email, in English and Ukrainian, at a
phone's width (390 px) and a desktop's (1280 px), as PNGs in ``screenshots/`` (not
committed), for a person to look at.

Not a test (its name keeps pytest from collecting it with the suite): it asserts only
that each page answered. Chromium loads the pages from the app through the test client
(each request to https://news.example.org is answered by it), so no server is started.
"""

from pathlib import Path

import pytest

from tests.every_email import READER
from tests.every_email import every_email
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "screenshots"
BASE = "https://news.example.org"
WIDTHS = {"phone": 390, "desktop": 1280}
LANGUAGES = ("en", "uk")
SKIPPED_HEADERS = ("content-length", "content-encoding", "transfer-encoding")


def through_the_app(client):
    """A Playwright route handler answering from the Flask test client."""

    def answer(route, request) -> None:
        path = request.url.removeprefix(BASE)
        headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
        response = client.open(
            path, method=request.method, data=request.post_data_buffer, headers=headers
        )
        body = response.get_data()
        response.close()  # a static file's answer holds the file open until closed
        route.fulfill(
            status=response.status_code,
            headers={
                name: value
                for name, value in response.headers.items()
                if name.lower() not in SKIPPED_HEADERS
            },
            body=body,
        )

    return answer


def shoot(page, name: str, language: str) -> None:
    """The page as it is now, at each width."""
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=FOLDER / f"{language}-{name}-{width_name}.png", full_page=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshots(client, runner, mailbox, browser, language):
    FOLDER.mkdir(exist_ok=True)
    emails = every_email(client, runner, mailbox, language)
    page = browser.new_page()
    page.route(f"{BASE}/**", through_the_app(client))
    lang = f"?lang={language}"

    def visit(name: str, path: str) -> None:
        response = page.goto(f"{BASE}{path}")
        assert response is not None and response.status < 500, (name, path)
        shoot(page, name, language)

    def submit(name: str, path: str, email: str) -> None:
        page.goto(f"{BASE}{path}")
        page.locator("input[type=email]").first.fill(email)
        page.locator("button[type=submit]").first.click()
        page.wait_for_load_state()
        shoot(page, name, language)

    visit("front", f"/{lang}")
    visit("newsletter", f"/newsletters/{SLUG}{lang}")
    submit("newsletter-error", f"/newsletters/{SLUG}{lang}", "not-an-address")
    submit("newsletter-thanks", f"/newsletters/{SLUG}{lang}", "second@example.com")
    visit("several", f"/subscribe{lang}")
    visit("iframe", f"/newsletters/{SLUG}/embed{lang}")
    submit("iframe-error", f"/newsletters/{SLUG}/embed{lang}", "not-an-address")
    visit("manage-ask", f"/manage{lang}")
    submit("manage-sent", f"/manage{lang}", READER)
    visit("not-found", f"/nothing-here{lang}")
    deliver(runner)
    ready = [m for m in mailbox.messages if m["To"] == "second@example.com"]
    visit("confirm-ready", f"{link_path(ready[0], '/confirm/')}{lang}")
    visit("confirmed", f"{link_path(emails['confirmation'], '/confirm/')}{lang}")
    visit("manage", f"{link_path(emails['welcome'], '/manage/')}{lang}")
    visit("unsubscribe", f"{link_path(emails['welcome'], '/unsubscribe/')}{lang}")
    page.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    shoot(page, "unsubscribed", language)
    for kind, message in emails.items():
        page.set_content(html_part(message))
        shoot(page, f"email-{kind}", language)
    page.close()
