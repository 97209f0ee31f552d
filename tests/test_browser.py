"""The forms on another site's article page, in headless Chromium with third-party cookies off.

A real ``newsletter serve`` runs on ``http://127.0.0.1:P1``; a publisher's article page is
served from ``http://localhost:P2`` (another origin and another site), which the
newsletters allow, and the same page from ``http://localhost:P3``, which they do not.
Each page embeds the form both ways: an ``<iframe>`` and ``embed.js``. Mail goes to the
session's real SMTP server; axe-core checks what readers of assistive technology meet.
"""

import json
import re
import urllib.error
import urllib.request
import uuid
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect

from tests.browser import Service
from tests.browser import Site
from tests.browser import messages_to
from tests.browser import serious_violations
from tests.browser import wait_for
from tests.conftest import free_port

SLUG = "explaining-ukraine"
NAME = "Explaining Ukraine with Kate Tsurkan"
OTHER_SLUG = "kyiv-dispatch"
OTHER_NAME = "The Kyiv Dispatch"
INVALID = "Please, enter correct email address"
DONE = "Successfully subscribed"
SENT_TO = "Thank you for signing up for this newsletter. We've sent a confirmation email to {}."
LABEL = "Enter your email to subscribe"
SOURCE = {"iframe": "embed", "script": "script"}  # what the editors see as the signup's source
REFUSAL_SECONDS = 10
PHONE = {"width": 390, "height": 844}  # a small phone's viewport, in CSS pixels
GMAIL = "https://mail.google.com/"

# The host page's own CSS, careless the way real sites are: the script's form must not
# be hidden or restyled by it (its styles live in a shadow root).
ARTICLE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>An article on a news site</title>
  <style>
    body {{ font: 19px/2 "Comic Sans MS", cursive; color: #f0f0f0; background: #202020; }}
    input, button, label {{ display: none !important; }}
    h2 {{ font-size: 64px; color: red; }}
    iframe {{ border: 0; width: 100%; }}
  </style>
</head>
<body>
  <main>
    <h1>What the war changed in Kyiv's newsrooms</h1>
    <p>An article's first paragraphs.</p>
    <iframe data-newsletter-frame title="Sign up to {name}"
            referrerpolicy="no-referrer-when-downgrade"
            src="{base}/newsletters/{slug}/embed"></iframe>
    <p>More of the article, then the script-rendered forms.</p>
    <p><a id="before-signup" href="#more">Read more</a></p>
    <div data-newsletter="{slug}"></div>
    <div data-newsletter="{other_slug}"></div>
    <p id="more">The article's last paragraph.</p>
  </main>
  <script src="{base}/embed.js" async></script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def article_port() -> int:
    """The allowed publisher's port, known before the newsletters are created."""
    return free_port()


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server, article_port: int):
    """``newsletter serve`` over a database prepared with the CLI: two newsletters that
    allow ``http://localhost:P2`` (and so serve seeds nothing)."""
    folder = tmp_path_factory.mktemp("browser")
    service = Service(folder / "instance", free_port(), smtp_server.url)
    allowed = f"http://localhost:{article_port}"
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", NAME, "--allow-origin", allowed)
    service.cli(
        "newsletters", "create", "--slug", OTHER_SLUG, "--name", OTHER_NAME,
        "--allow-origin", allowed,
    )  # fmt: skip
    service.start()
    yield service
    service.stop()


def _site(service: Service, port: int):
    html = ARTICLE.format(base=service.base, slug=SLUG, other_slug=OTHER_SLUG, name=NAME)
    site = Site(port, html)
    site.start()
    return site


@pytest.fixture(scope="module")
def allowed(service: Service, article_port: int):
    """The article page on an origin the newsletters allow."""
    site = _site(service, article_port)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def refused(service: Service):
    """The same article page on an origin no newsletter allows."""
    site = _site(service, free_port())
    yield site
    site.stop()


@pytest.fixture
def article(page, allowed: Site):
    """A fresh copy of the allowed article page, open in the browser."""
    page.goto(allowed.article)
    return page


def address() -> str:
    """An address no other test uses."""
    return f"reader-{uuid.uuid4().hex[:12]}@example.com"


def embedded(page, kind: str, slug: str = SLUG):
    """The newsletter's form on the page, as the iframe or as the script rendered it."""
    if kind == "iframe":
        return page.frame_locator(f'iframe[src$="/newsletters/{slug}/embed"]')
    return page.locator(f'[data-newsletter="{slug}"]')


def submit(form, email: str) -> None:
    form.get_by_label(LABEL).fill(email)
    form.get_by_role("button", name="Subscribe").click()


def confirmation_for(smtp_server, service: Service, email: str, name: str = NAME):
    """Wait for the confirmation email to ``email`` to reach the SMTP server."""
    [message] = wait_for(
        lambda: messages_to(smtp_server.messages, email), f"the confirmation email to {email}"
    )
    assert name in message["Subject"]
    assert f"{service.base}/confirm/" in message.get_body(("plain",)).get_content()
    return message


def api(service: Service, method: str, path: str, origin: str | None = None, email: str = ""):
    """Call the newsletter's JSON API as a script does (or, with ``origin``, as a page's
    browser does); returns the status and headers."""
    request = urllib.request.Request(
        f"{service.base}/api/v1/newsletters/{SLUG}{path}",
        method=method,
        data=json.dumps({"email": email or address()}).encode() if method == "POST" else None,
        headers={"Content-Type": "application/json", **({"Origin": origin} if origin else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def _gave_up(message) -> bool:
    return message.text.startswith("Newsletter embed:")


class _FormToken(HTMLParser):
    """Reads the iframe form's signed token out of its HTML."""

    token = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "input" and values.get("name") == "form_token":
            self.token = values["value"]


def settled_subscriptions(service: Service) -> int:
    """How many subscriptions there are once the service's worker has applied the signups
    earlier tests recorded (a count taken before that would move under the test)."""
    wait_for(lambda: service.rows("signup_request") == 0, "the earlier signups applied")
    return service.rows("subscription")


@pytest.mark.parametrize("kind", ["iframe", "script"])
def test_invalid_address_is_shown_inline(article, allowed: Site, service: Service, kind: str):
    form = embedded(article, kind)
    before = settled_subscriptions(service)
    submit(form, "not-an-address")

    expect(form.get_by_text(INVALID)).to_be_visible()
    field = form.get_by_label(LABEL)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("not-an-address")
    assert article.url == allowed.article
    assert service.rows("subscription") == before


@pytest.mark.parametrize("kind", ["iframe", "script"])
def test_valid_address_subscribes_inline_and_mails(
    article, allowed: Site, service: Service, smtp_server, kind: str
):
    email = address()
    form = embedded(article, kind)
    submit(form, email)

    expect(form.get_by_role("heading", name=DONE)).to_be_visible()
    expect(form.get_by_text(SENT_TO.format("r***@example.com"))).to_be_visible()
    expect(form.get_by_label(LABEL)).to_have_count(0)
    assert article.url == allowed.article, "the reader must never leave the article"
    confirmation_for(smtp_server, service, email)
    assert service.subscriptions_of(email, source=SOURCE[kind]) == 1
    # The editors see which page the signup came from: the script sends it, the frame
    # gets it as its Referer (the snippet's referrerpolicy lets the browser send it whole).
    assert service.subscriptions_of(email, source_url=allowed.article) == 1


def test_two_newsletters_on_one_page_each_subscribe(
    article, allowed: Site, service: Service, smtp_server
):
    email = address()
    first = embedded(article, "script", SLUG)
    second = embedded(article, "script", OTHER_SLUG)
    expect(first.get_by_role("heading", name=NAME)).to_be_visible()
    expect(second.get_by_role("heading", name=OTHER_NAME)).to_be_visible()

    submit(second, "not-an-address")
    expect(second.get_by_text(INVALID)).to_be_visible()
    expect(first.get_by_text(INVALID)).to_have_count(0)
    submit(second, email)
    expect(second.get_by_role("heading", name=DONE)).to_be_visible()
    expect(first.get_by_role("button", name="Subscribe")).to_be_visible()
    submit(first, email)
    expect(first.get_by_role("heading", name=DONE)).to_be_visible()

    assert article.url == allowed.article
    wait_for(lambda: len(messages_to(smtp_server.messages, email)) == 2, "both confirmations")
    subjects = [message["Subject"] for message in messages_to(smtp_server.messages, email)]
    assert sorted(NAME in subject for subject in subjects) == [False, True], subjects
    assert sorted(OTHER_NAME in subject for subject in subjects) == [False, True], subjects
    assert service.subscriptions_of(email) == 2


def test_script_form_is_keyboard_usable(article, allowed: Site, service: Service, smtp_server):
    email = address()
    form = embedded(article, "script")
    field = form.get_by_label(LABEL)
    button = form.get_by_role("button", name="Subscribe")
    expect(field).to_be_visible()
    expect(embedded(article, "script", OTHER_SLUG).get_by_label(LABEL)).to_be_visible()

    article.focus("#before-signup")
    article.keyboard.press("Tab")
    expect(field).to_be_focused()
    article.keyboard.press("Tab")
    expect(button).to_be_focused()
    article.keyboard.press("Tab")  # past the honeypot, which people never reach
    expect(embedded(article, "script", OTHER_SLUG).get_by_label(LABEL)).to_be_focused()
    article.keyboard.press("Shift+Tab")
    article.keyboard.press("Shift+Tab")
    expect(field).to_be_focused()

    article.keyboard.type("not-an-address")
    article.keyboard.press("Enter")
    expect(form.get_by_text(INVALID)).to_be_visible()
    expect(field).to_be_focused()  # back in the field, to correct it
    article.keyboard.press("ControlOrMeta+a")
    article.keyboard.type(email)
    article.keyboard.press("Enter")
    done = form.get_by_role("status")
    expect(done).to_contain_text(DONE)
    expect(done).to_be_focused()  # a screen reader announces the outcome

    assert article.url == allowed.article
    confirmation_for(smtp_server, service, email)


def _signup_form(page, kind: str, service: Service, allowed: Site):
    """The form to sign up with: our own page's, or the article's iframe or script form."""
    if kind == "page":
        page.goto(f"{service.base}/newsletters/{SLUG}")
        return page
    page.goto(allowed.article)
    return embedded(page, kind)


def _fits_the_width(page, node) -> bool:
    """Nothing scrolls sideways, and the node lies wholly inside the viewport's width."""
    box = node.bounding_box()
    page_width = page.evaluate("() => document.documentElement.scrollWidth")
    inside = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    return inside and page_width <= PHONE["width"]


@pytest.mark.parametrize("kind", ["page", "iframe", "script"])
def test_success_names_the_address_and_opens_its_webmail_in_a_new_tab(
    page, browser, service: Service, allowed: Site, smtp_server, kind: str
):
    """On a phone: "…sent a confirmation email to r***@gmail.com." and "Open Gmail"."""
    page.set_viewport_size(PHONE)
    email = f"reader-{uuid.uuid4().hex[:12]}@gmail.com"
    form = _signup_form(page, kind, service, allowed)
    submit(form, email)

    done = form.get_by_role("status")
    expect(done.get_by_text(SENT_TO.format("r***@gmail.com"))).to_be_visible()
    expect(done).not_to_contain_text(email)
    link = done.get_by_role("link", name="Open Gmail")
    expect(link).to_have_attribute("href", GMAIL)
    expect(link).to_have_attribute("target", "_blank")
    assert _fits_the_width(page, link)
    # Gmail itself is stood in for: no test reaches the internet.
    browser.route(f"{GMAIL}**", lambda route: route.fulfill(body="Gmail", content_type="text/html"))
    try:
        with browser.expect_page() as opened:
            link.click()
        tab = opened.value
        tab.wait_for_load_state()
        assert tab.url == GMAIL
        assert tab.evaluate("() => window.opener") is None
        tab.close()
    finally:
        browser.unroute(f"{GMAIL}**")
    assert page.url.startswith(service.base if kind == "page" else allowed.article)
    confirmation_for(smtp_server, service, email)


@pytest.mark.parametrize("kind", ["page", "iframe", "script"])
def test_success_for_an_unknown_domain_offers_no_webmail(
    page, service: Service, allowed: Site, kind: str
):
    page.set_viewport_size(PHONE)
    email = f"reader-{uuid.uuid4().hex[:12]}@gmial.com"  # a typo, plain to see
    form = _signup_form(page, kind, service, allowed)
    submit(form, email)

    done = form.get_by_role("status")
    sentence = done.get_by_text(SENT_TO.format("r***@gmial.com"))
    expect(sentence).to_be_visible()
    expect(done.get_by_role("link")).to_have_count(0)
    assert _fits_the_width(page, sentence)


def test_frame_tells_the_page_its_height(article):
    frame = article.locator("iframe[data-newsletter-frame]")
    expect(frame).to_have_attribute("style", re.compile(r"height: \d+px"))
    content = embedded(article, "iframe").locator("main")
    expect(content).to_be_visible()

    def fits() -> bool:
        height = frame.evaluate("node => node.clientHeight")
        return height >= content.evaluate("node => Math.ceil(node.getBoundingClientRect().height)")

    wait_for(fits, "the frame to be as tall as its form")


def test_refused_origin_gets_no_form_and_stores_nothing(
    page, refused: Site, service: Service, smtp_server
):
    embed_url = f"{service.base}/newsletters/{SLUG}/embed"
    api_url = f"{service.base}/api/v1/newsletters/{SLUG}"
    subscriptions = settled_subscriptions(service)
    queued = service.rows("outbox_message")

    timeout = REFUSAL_SECONDS * 1000
    gave_up = []  # embed.js warns once for each div whose newsletter it could not load

    def note(message) -> None:
        if _gave_up(message):
            gave_up.append(message.text)

    page.on("console", note)
    with page.expect_event("requestfailed", lambda r: r.url == embed_url, timeout=timeout) as frame:
        page.goto(refused.article)
    while len(gave_up) < 2:
        page.wait_for_event("console", _gave_up, timeout=timeout)

    # The frame is refused by CSP frame-ancestors: the browser never shows our form.
    assert frame.value.failure == "net::ERR_BLOCKED_BY_RESPONSE"
    assert not [found for found in page.frames if found.url.startswith(service.base)]
    expect(embedded(page, "iframe").locator("input[name=email]")).to_have_count(0)
    # The API answers this origin without CORS headers, so the divs stay empty.
    for slug in (SLUG, OTHER_SLUG):
        host = embedded(page, "script", slug)
        assert host.evaluate("node => node.shadowRoot === null && node.innerHTML === ''")
    for method, path in (("GET", ""), ("POST", "/subscriptions")):
        status, headers = api(service, method, path, origin=refused.origin)
        assert status == 403
        assert "Access-Control-Allow-Origin" not in headers

    # A page that forges a submission fares no better: a JSON POST dies at the preflight,
    # and the iframe form's POST, even with a valid token fetched by the site's server,
    # is not from our frame.
    forged = address()
    with urllib.request.urlopen(embed_url, timeout=10) as response:
        parser = _FormToken()
        parser.feed(response.read().decode())
    assert parser.token
    outcome = page.evaluate(
        """async ([apiUrl, embedUrl, email, token]) => {
            const outcome = {};
            try {
                await fetch(apiUrl + "/subscriptions", {
                    method: "POST", headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({email}),
                });
                outcome.json = "sent";
            } catch (error) { outcome.json = error.name; }
            const response = await fetch(embedUrl, {
                method: "POST", mode: "no-cors",
                body: new URLSearchParams({email, form_token: token}),
            });
            outcome.form = response.type;
            return outcome;
        }""",
        [api_url, embed_url, forged, parser.token],
    )
    assert outcome == {"json": "TypeError", "form": "opaque"}

    # Nothing stored or queued; a later signup's mail arrives alone, so none was on its way.
    assert service.rows("subscription") == subscriptions
    assert service.rows("outbox_message") == queued
    marker = address()
    assert api(service, "POST", "/subscriptions", email=marker)[0] == 202
    confirmation_for(smtp_server, service, marker)
    assert service.rows("subscription") == subscriptions + 1
    assert service.rows("outbox_message") == queued + 1
    assert messages_to(smtp_server.messages, forged) == []


def _signup_page(page, service: Service, allowed: Site, error: bool) -> str | None:
    page.goto(f"{service.base}/newsletters/{SLUG}")
    if error:
        submit(page, "not-an-address")
        expect(page.get_by_text(INVALID)).to_be_visible()
    return None


def _embed_frame(page, service: Service, allowed: Site, error: bool) -> str | None:
    page.goto(f"{service.base}/newsletters/{SLUG}/embed")
    if error:
        submit(page, "not-an-address")
        expect(page.get_by_text(INVALID)).to_be_visible()
    return None


def _script_form(page, service: Service, allowed: Site, error: bool) -> str | None:
    page.goto(allowed.article)
    form = embedded(page, "script")
    expect(form.get_by_label(LABEL)).to_be_visible()
    if error:
        submit(form, "not-an-address")
        expect(form.get_by_text(INVALID)).to_be_visible()
    return f'[data-newsletter="{SLUG}"]'


@pytest.mark.parametrize("error", [False, True], ids=["form", "error"])
@pytest.mark.parametrize(
    "surface", [_signup_page, _embed_frame, _script_form], ids=["page", "frame", "script"]
)
def test_no_serious_accessibility_violations(
    axe_page, service: Service, allowed: Site, surface, error: bool
):
    include = surface(axe_page, service, allowed, error)
    violations = serious_violations(axe_page, include)
    assert not violations, f"axe-core on {axe_page.url}:\n" + "\n".join(violations)
