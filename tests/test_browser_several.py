"""A form for several newsletters on another site's article page, in headless Chromium
with third-party cookies off: in an ``<iframe>`` and rendered by ``embed.js``.

The reader ticks two newsletters of three; one confirmation email arrives, and its one
button confirms exactly those two. axe-core checks the forms and the pages after them,
on a phone's width.
"""

import uuid

import pytest
from playwright.sync_api import expect

from newsletter.web import form_words
from tests.browser import Service
from tests.browser import Site
from tests.browser import messages_to
from tests.browser import serious_violations
from tests.browser import wait_for
from tests.conftest import free_port

NEWSLETTERS = {
    "explaining-ukraine": "Explaining Ukraine with Kate Tsurkan",
    "daily-briefing": "The Daily Briefing",
    "weekly-digest": "The Weekly Digest",
}
OFFERED = ",".join(NEWSLETTERS)
CHOSEN = ["Explaining Ukraine with Kate Tsurkan", "The Weekly Digest"]
WORDS = form_words.current()
PHONE = {"width": 390, "height": 844}
ARTICLE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>An article on a news site</title>
  <style>iframe {{ border: 0; width: 100%; }}</style>
</head>
<body>
  <main>
    <h1>An article</h1>
    <iframe data-newsletter-frame title="Sign up to our newsletters"
            src="{base}/embed?newsletters={offered}"></iframe>
    <div data-newsletters="{offered}"></div>
  </main>
  <script src="{base}/embed.js" async></script>
</body>
</html>
"""


@pytest.fixture(scope="module")
def article_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server, article_port: int):
    """``newsletter serve`` with three newsletters that allow ``http://localhost:P2``."""
    service = Service(tmp_path_factory.mktemp("several") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    for position, (slug, name) in enumerate(NEWSLETTERS.items()):
        service.cli(
            "newsletters", "create", "--slug", slug, "--name", name,
            "--description", f"What {name} is about, in one line.",
            "--allow-origin", f"http://localhost:{article_port}", "--position", str(position),
        )  # fmt: skip
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def allowed(service: Service, article_port: int):
    site = Site(article_port, ARTICLE.format(base=service.base, offered=OFFERED))
    site.start()
    yield site
    site.stop()


def the_form(page, kind: str):
    if kind == "iframe":
        return page.frame_locator("iframe[data-newsletter-frame]")
    return page.locator("[data-newsletters]")


def sign_up(form, email: str) -> None:
    """Tick two of the three newsletters, as a keyboard or mouse user would, and send."""
    for name in CHOSEN:
        form.get_by_role("checkbox", name=name).check()
    form.get_by_label(WORDS.label).fill(email)
    form.get_by_role("button", name=WORDS.button).click()


def fits_the_width(page, node) -> bool:
    box = node.bounding_box()
    page_width = page.evaluate("() => document.documentElement.scrollWidth")
    inside = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    return inside and page_width <= PHONE["width"]


@pytest.mark.parametrize("kind", ["iframe", "script"])
def test_two_of_three_one_email_confirms_those_two_and_the_manage_link_leaves_one(
    page, service: Service, allowed: Site, smtp_server, kind: str
):
    page.set_viewport_size(PHONE)
    page.goto(allowed.article)
    form = the_form(page, kind)
    expect(form.get_by_role("group", name=WORDS.newsletters)).to_be_visible()
    expect(form.get_by_role("checkbox")).to_have_count(3)
    email = f"reader-{uuid.uuid4().hex[:12]}@example.com"
    sign_up(form, email)

    done = form.get_by_role("status")
    expect(
        done.get_by_text(WORDS.sent_to_several.format(address="r***@example.com"))
    ).to_be_visible()
    for name in CHOSEN:
        expect(done.get_by_text(name)).to_be_visible()
    assert fits_the_width(page, done)

    [message] = wait_for(lambda: messages_to(smtp_server.messages, email), "the confirmation")
    assert message["Subject"] == f"Confirm your subscription to {CHOSEN[0]} and {CHOSEN[1]}"
    link = next(
        line for line in message.get_body(("plain",)).get_content().splitlines()
        if line.startswith(f"{service.base}/confirm/")
    )  # fmt: skip
    page.goto(link)
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()
    assert service.subscriptions_of(email, status="confirmed") == 2
    assert service.subscriptions_of(email) == 2
    assert len(messages_to(smtp_server.messages, email)) >= 1  # welcomes follow; one confirmation
    assert [
        found for found in messages_to(smtp_server.messages, email)
        if found["Subject"].startswith("Confirm")
    ] == [message]  # fmt: skip

    # The welcome email's manage link shows those two; leaving one there keeps the other.
    welcome = wait_for(
        lambda: [m for m in messages_to(smtp_server.messages, email) if "Welcome" in m["Subject"]],
        "a welcome email",
    )[0]
    manage = next(
        word for word in welcome.get_body(("plain",)).get_content().split()
        if word.startswith(f"{service.base}/manage/")
    )  # fmt: skip
    page.goto(manage)
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    for name in NEWSLETTERS.values():
        entry = page.get_by_role("listitem").filter(has_text=name)
        state = "Subscribed" if name in CHOSEN else "Not subscribed"
        expect(entry.get_by_text(state, exact=True)).to_be_visible()
    left, kept = CHOSEN
    page.get_by_role("listitem").filter(has_text=left).get_by_role(
        "button", name="Unsubscribe"
    ).click()
    expect(page.get_by_text(f"You have unsubscribed from {left}")).to_be_visible()
    assert service.subscriptions_of(email, status="confirmed") == 1
    assert service.subscriptions_of(email, status="unsubscribed") == 1
    kept_entry = page.get_by_role("listitem").filter(has_text=kept)
    expect(kept_entry.get_by_text("Subscribed", exact=True)).to_be_visible()


def test_choosing_none_is_said_next_to_the_choices(page, allowed: Site):
    page.goto(allowed.article)
    for kind in ("iframe", "script"):
        form = the_form(page, kind)
        form.get_by_label(WORDS.label).fill("reader@example.com")
        form.get_by_role("button", name=WORDS.button).click()
        expect(form.get_by_text(WORDS.choose_one)).to_be_visible()


def _page_form(page, service: Service, allowed: Site):
    page.goto(f"{service.base}/subscribe?newsletters={OFFERED}")
    return page


def _thank_you_page(page, service: Service, allowed: Site):
    page.goto(f"{service.base}/subscribe?newsletters={OFFERED}")
    sign_up(page, f"reader-{uuid.uuid4().hex[:12]}@gmail.com")
    expect(page.get_by_role("status")).to_be_visible()
    return page


def _frame(page, service: Service, allowed: Site):
    page.goto(allowed.article)
    frame = page.frame_locator("iframe[data-newsletter-frame]")
    expect(frame.get_by_role("checkbox")).to_have_count(3)
    return next(found for found in page.frames if found.url.startswith(f"{service.base}/embed"))


def _frame_thanks(page, service: Service, allowed: Site):
    page.goto(allowed.article)
    sign_up(page.frame_locator("iframe[data-newsletter-frame]"), "reader@gmail.com")
    expect(
        page.frame_locator("iframe[data-newsletter-frame]").get_by_role("status")
    ).to_be_visible()
    return next(found for found in page.frames if "/embed/subscribed" in found.url)


def _script_form(page, service: Service, allowed: Site):
    page.goto(allowed.article)
    expect(the_form(page, "script").get_by_role("checkbox")).to_have_count(3)
    return page


def _script_thanks(page, service: Service, allowed: Site):
    page.goto(allowed.article)
    sign_up(the_form(page, "script"), "reader@gmail.com")
    expect(the_form(page, "script").get_by_role("status")).to_be_visible()
    return page


@pytest.mark.parametrize(
    ("opened", "include"),
    [
        (_page_form, None),
        (_thank_you_page, None),
        (_frame, None),
        (_frame_thanks, None),
        (_script_form, "[data-newsletters]"),
        (_script_thanks, "[data-newsletters]"),
    ],
)
def test_no_serious_accessibility_violations_and_a_phone_fits(
    axe_page, service: Service, allowed: Site, opened, include
):
    axe_page.set_viewport_size(PHONE)
    target = opened(axe_page, service, allowed)
    assert serious_violations(target, include) == []
    assert axe_page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    if target is axe_page:
        assert target.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
