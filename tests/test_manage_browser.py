"""The manage page in Chromium: from the welcome email's link, leave one newsletter.

A reader confirmed to two newsletters opens "Manage your subscriptions" from a welcome
email, presses Unsubscribe beside one: that one is left, the other stays confirmed. The
manage page, the ``/manage`` form and the unsubscribe result page pass axe-core, and the
manage page fits a phone.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import Service
from tests.browser import messages_to
from tests.browser import serious_violations
from tests.browser import wait_for
from tests.conftest import free_port

SLUG = "explaining-ukraine"
NAME = "Explaining Ukraine with Kate Tsurkan"
OTHER_SLUG = "kyiv-dispatch"
OTHER_NAME = "The Kyiv Dispatch"
LABEL = "Enter your email to subscribe"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """``newsletter serve`` with two public newsletters."""
    folder = tmp_path_factory.mktemp("manage-browser")
    service = Service(folder / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", NAME)
    service.cli("newsletters", "create", "--slug", OTHER_SLUG, "--name", OTHER_NAME)
    service.start()
    yield service
    service.stop()


def mailed_link(smtp_server, service: Service, email: str, subject: str, path: str) -> str:
    """The ``path`` link (``/confirm/``…) of the email to ``email`` whose subject has
    ``subject``, once it arrives."""

    def arrived():
        for message in messages_to(smtp_server.messages, email):
            if subject in message["Subject"]:
                text = message.get_body(("plain",)).get_content()
                return re.search(rf"{re.escape(service.base)}{path}\S+", text)
        return None

    return wait_for(arrived, f"the {subject!r} email to {email}").group(0)


def confirmed_reader(page, service: Service, smtp_server) -> str:
    """A reader signed up to both newsletters in the browser and confirmed both; their
    address."""
    email = f"reader-{uuid.uuid4().hex[:12]}@example.com"
    for slug, name in ((SLUG, NAME), (OTHER_SLUG, OTHER_NAME)):
        page.goto(f"{service.base}/newsletters/{slug}")
        page.get_by_label(LABEL).fill(email)
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("status")).to_be_visible()
        page.goto(
            mailed_link(
                smtp_server, service, email, f"Confirm your subscription to {name}", "/confirm/"
            )
        )
        page.get_by_role("button", name="Confirm subscription").click()
        expect(page.get_by_text("Subscription confirmed")).to_be_visible()
    return email


def test_leaving_one_newsletter_from_the_welcome_emails_manage_link(
    page, service: Service, smtp_server
):
    page.set_viewport_size(PHONE)
    email = confirmed_reader(page, service, smtp_server)
    page.goto(mailed_link(smtp_server, service, email, f"Welcome to {NAME}", "/manage/"))
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    dispatch = page.get_by_role("listitem").filter(has_text=OTHER_NAME)
    unsubscribe = dispatch.get_by_role("button", name="Unsubscribe")
    box = unsubscribe.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    unsubscribe.click()
    expect(page.get_by_text(f"You have unsubscribed from {OTHER_NAME}")).to_be_visible()
    expect(dispatch.get_by_text("Not subscribed")).to_be_visible()
    assert service.subscriptions_of(email, status="unsubscribed") == 1
    assert service.subscriptions_of(email, status="confirmed") == 1
    kept = page.get_by_role("listitem").filter(has_text=NAME)
    expect(kept.get_by_text("Subscribed", exact=True)).to_be_visible()


def manage_page(page, service: Service, smtp_server) -> None:
    email = confirmed_reader(page, service, smtp_server)
    page.goto(mailed_link(smtp_server, service, email, f"Welcome to {NAME}", "/manage/"))


def manage_form(page, service: Service, smtp_server) -> None:
    page.goto(f"{service.base}/manage")


def manage_form_error(page, service: Service, smtp_server) -> None:
    page.goto(f"{service.base}/manage")
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.locator("#manage-email-error")).to_be_visible()


def unsubscribed_page(page, service: Service, smtp_server) -> None:
    email = confirmed_reader(page, service, smtp_server)
    page.goto(mailed_link(smtp_server, service, email, f"Welcome to {NAME}", "/unsubscribe/"))
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("Unsubscribe from everything")).to_be_visible()


@pytest.mark.parametrize(
    "open_page",
    [manage_page, manage_form, manage_form_error, unsubscribed_page],
    ids=["manage-page", "manage-form", "manage-form-error", "unsubscribed"],
)
def test_no_serious_accessibility_violations(axe_page, service: Service, smtp_server, open_page):
    open_page(axe_page, service, smtp_server)
    violations = serious_violations(axe_page)
    assert not violations, f"axe-core on {axe_page.url}:\n" + "\n".join(violations)
