"""Our page, the iframe and the script embed, in English and Ukrainian, on a phone (390 px)
and a desktop (1280 px), in headless Chromium: an error, a 429 inside the form, a success.

Each time: nothing is wider than the viewport (the page's and the frame's documents),
axe-core finds nothing serious or critical, and after an error the focus is on the field
with the error under it. The words come from the API's form words in that language, so
the test reads what a reader of that language reads. The 429s come from a second server
whose signup budget is spent before the tests start.
"""

import json
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import Service
from tests.browser import Site
from tests.browser import serious_violations
from tests.conftest import free_port

SLUG = "explaining-ukraine"
NAME = "Explaining Ukraine with Kate Tsurkan"
LANGUAGES = ("en", "uk")
WIDTHS = {"phone": 390, "desktop": 1280}
SURFACES = ("page", "iframe", "script")
ARTICLE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>An article</title><style>iframe {{ border: 0; width: 100%; height: 420px; }}</style></head>
<body><main>
  <h1>An article</h1>
  <iframe data-newsletter-frame title="{name}" referrerpolicy="no-referrer-when-downgrade"
          src="{base}/newsletters/{slug}/embed?lang={lang}"></iframe>
  <div data-newsletter="{slug}" data-lang="{lang}"></div>
</main><script src="{base}/embed.js" async></script></body>
</html>
"""


def start_service(tmp_path_factory, smtp_server, origins: list[str], limit: str | None):
    service = Service(
        tmp_path_factory.mktemp("languages") / "instance", free_port(), smtp_server.url
    )
    if limit:
        service.environment.update(
            NEWSLETTER_RATELIMIT_ENABLED="true", NEWSLETTER_SIGNUP_RATE_LIMIT=limit
        )
    service.cli("db", "upgrade")
    allow = [option for origin in origins for option in ("--allow-origin", origin)]
    service.cli("newsletters", "create", "--slug", SLUG, "--name", NAME, *allow)
    service.start()
    return service


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """A publisher's article page per language and per server, on ports known up front."""
    return {f"{server}-{lang}": free_port() for server in ("open", "spent") for lang in LANGUAGES}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, smtp_server, ports):
    """An open server, and one whose whole signup budget is spent (each answers 429)."""
    origins = [f"http://localhost:{port}" for port in ports.values()]
    open_server = start_service(tmp_path_factory, smtp_server, origins, None)
    spent = start_service(tmp_path_factory, smtp_server, origins, "1 per hour")
    request = urllib.request.Request(
        f"{spent.base}/api/v1/newsletters/{SLUG}/subscriptions",
        data=json.dumps({"email": "first@example.com"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    yield {"open": open_server, "spent": spent}
    open_server.stop()
    spent.stop()


@pytest.fixture(scope="module")
def sites(servers, ports):
    started = {}
    for key, port in ports.items():
        server, lang = key.split("-")
        html = ARTICLE.format(base=servers[server].base, slug=SLUG, name=NAME, lang=lang)
        started[key] = Site(port, html)
        started[key].start()
    yield started
    for site in started.values():
        site.stop()


def words(service: Service, lang: str) -> dict[str, str]:
    """The form's words in ``lang``, as the API gives them to embed.js."""
    url = f"{service.base}/api/v1/newsletters/{SLUG}?lang={lang}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["form"]


def open_form(page, servers, sites, server: str, surface: str, lang: str):
    """Open the surface; returns what holds the form and, after a success, the message in
    its place."""
    service = servers[server]
    if surface == "page":
        page.goto(f"{service.base}/newsletters/{SLUG}?lang={lang}")
        return page.locator("main")
    page.goto(sites[f"{server}-{lang}"].article)
    if surface == "iframe":
        frame = page.frame_locator("iframe[data-newsletter-frame]")
        expect(frame.locator("form.signup")).to_be_visible()
        return frame.locator("main")
    form = page.locator(f'[data-newsletter="{SLUG}"]')
    expect(form.locator("form.signup")).to_be_visible()
    return form


def holder_of(page, surface: str):
    """The document the form is in now (the frame navigates on each submission)."""
    if surface != "iframe":
        return page
    return next(item for item in page.frames if "/embed" in item.url)


def assert_fits_and_is_accessible(page, surface: str, width: int) -> None:
    documents = [page] + ([holder_of(page, surface)] if surface == "iframe" else [])
    for document in documents:
        scroll = document.evaluate("document.documentElement.scrollWidth")
        inner = document.evaluate("document.documentElement.clientWidth")
        assert scroll <= inner <= width, (document.url, scroll, inner)
    include = f'[data-newsletter="{SLUG}"]' if surface == "script" else None
    target = holder_of(page, surface)
    violations = serious_violations(target, include)
    assert not violations, "\n".join(violations)


def assert_focus_on_the_field_with_its_error(form, said: dict[str, str]) -> None:
    """The error under the field, which has the focus (given as the page loads)."""
    expect(form.locator(".signup__error")).to_be_visible()
    expect(form.get_by_label(said["label"])).to_be_focused()


def submit(form, said: dict[str, str], email: str) -> None:
    form.get_by_label(said["label"]).fill(email)
    form.get_by_role("button", name=said["button"]).click()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_error_then_a_success(axe_page, servers, sites, lang, surface, width):
    axe_page.set_viewport_size({"width": width, "height": 900})
    said = words(servers["open"], lang)
    form = open_form(axe_page, servers, sites, "open", surface, lang)
    assert_fits_and_is_accessible(axe_page, surface, width)

    submit(form, said, "not-an-address")
    expect(form.get_by_text(said["invalid_email"])).to_be_visible()
    assert_focus_on_the_field_with_its_error(form, said)
    assert_fits_and_is_accessible(axe_page, surface, width)

    submit(form, said, f"reader-{uuid.uuid4().hex[:12]}@example.com")
    expect(form.get_by_role("heading", name=said["thanks_title"])).to_be_visible()
    if surface != "page":
        expect(form.get_by_text(said["next_steps"])).to_be_visible()
    assert_fits_and_is_accessible(axe_page, surface, width)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_many_signups_are_told_in_the_form(axe_page, servers, sites, lang, surface, width):
    axe_page.set_viewport_size({"width": width, "height": 900})
    said = words(servers["spent"], lang)
    form = open_form(axe_page, servers, sites, "spent", surface, lang)
    typed = f"reader-{uuid.uuid4().hex[:12]}@example.com"
    submit(form, said, typed)
    error = form.locator(".signup__error")
    expect(error).to_contain_text("1")  # "… in 1 hour" / "… через 1 годину"
    expect(error).not_to_contain_text(said["invalid_email"])
    expect(form.get_by_label(said["label"])).to_have_value(typed)
    assert_focus_on_the_field_with_its_error(form, said)
    assert_fits_and_is_accessible(axe_page, surface, width)
