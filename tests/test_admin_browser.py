"""An editor in headless Chromium: sign in, filter the subscribers, download the CSV; on a
phone, every admin page fits the screen and passes axe, and erasing asks first."""

import csv
import io
import json
import re
import urllib.request

import pytest

from tests.browser import PHONE
from tests.browser import Service
from tests.browser import assert_fits_phone_and_passes_axe
from tests.browser import messages_to
from tests.browser import sign_in_to_admin
from tests.browser import wait_for
from tests.conftest import free_port

SLUG = "explaining-ukraine"
EDITOR = "kate@example.com"
PASSWORD = "correct horse battery staple"
CONFIRMED = ("ada@example.com", "grace@example.com")
PENDING = ("linus@example.com",)
# A long address, signed up from a phone's browser (a long User-Agent in the evidence).
LONG_ADDRESS = "kateryna.tsurkan.editor-in-chief@explaining-ukraine.newsroom.example.org"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
# Unreachable from the tests: its delivery log fills with errors, as an editor may see it.
WEBHOOK_URL = "https://crm.example.invalid/hooks/newsletter-signups/from-the-newsroom-service"


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """A served instance with an editor, two confirmed readers and a pending one."""
    service = Service(tmp_path_factory.mktemp("admin") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", "Explaining Ukraine")
    service.cli("webhooks", "add", "--newsletter", SLUG, WEBHOOK_URL)
    service.create_editor(EDITOR, PASSWORD)
    service.cli("tokens", "create", "--name", "nightly ESP sync", "--newsletter", SLUG)
    service.start()
    for address in CONFIRMED + PENDING:
        _sign_up(service, address)
    _sign_up(service, LONG_ADDRESS, user_agent=IPHONE)
    for address in CONFIRMED:
        _confirm(service, smtp_server, address)
    yield service
    service.stop()


def _sign_up(service: Service, address: str, user_agent: str = "Python-urllib") -> None:
    """A reader signs up through the JSON API (any surface would do)."""
    request = urllib.request.Request(
        f"{service.base}/api/v1/newsletters/{SLUG}/subscriptions",
        data=json.dumps({"email": address}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": user_agent},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    # The request only records the signup; the service's worker applies it.
    wait_for(lambda: service.subscriptions_of(address), f"the signup of {address} applied")


def _confirm(service: Service, mailbox, address: str) -> None:
    """The reader presses the button behind the emailed link."""
    mail = wait_for(lambda: messages_to(mailbox.messages, address), f"mail to {address}")
    link = re.search(r"http://\S+/confirm/\S+", mail[0].get_body(("plain",)).get_content())
    request = urllib.request.Request(link.group(0), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200  # after the redirect to the confirmed page


def test_editor_signs_in_filters_and_downloads_the_csv(service, browser, tmp_path):
    page = browser.new_page()
    page.goto(f"{service.base}/admin/newsletters/{SLUG}")
    assert "/admin/login" in page.url  # anonymous: sent to sign in first

    page.get_by_label("Email").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/admin/newsletters/{SLUG}")  # and back where they were going

    table = page.get_by_role("table")
    for address in CONFIRMED + PENDING:
        assert table.get_by_text(address).count() == 1

    page.get_by_label("Status").select_option("confirmed")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**status=confirmed**")
    for address in CONFIRMED:
        assert table.get_by_text(address).count() == 1
    assert table.get_by_text(PENDING[0]).count() == 0

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download confirmed subscribers (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"{SLUG}-confirmed-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["email"] for row in rows) == sorted(CONFIRMED)
    assert {row["status"] for row in rows} == {"confirmed"}
    assert all(row["confirmed_at"].endswith("Z") for row in rows)
    page.close()


@pytest.fixture
def phone(axe_browser):
    """A page the size of a small phone's screen, with nobody signed in (the tests share
    one browser profile, so its cookies are cleared before and after)."""
    axe_browser.clear_cookies()
    page = axe_browser.new_page()
    page.set_viewport_size(PHONE)
    yield page
    page.close()
    axe_browser.clear_cookies()


def _open_subscriber(page, service: Service, address: str) -> None:
    """From the list, the way an editor gets there: search, then follow the address."""
    page.goto(f"{service.base}/admin/newsletters/{SLUG}?q={address}")
    page.get_by_role("link", name=address).click()
    page.wait_for_url("**/subscribers/*")


def test_sign_in_on_a_phone_fits_and_says_what_is_missing(service, phone):
    phone.goto(f"{service.base}/admin/login")
    assert_fits_phone_and_passes_axe(phone)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("status").inner_text() == "Enter your email and password."
    assert_fits_phone_and_passes_axe(phone)


def test_every_admin_page_fits_a_phone_and_passes_axe(service, phone):
    sign_in_to_admin(phone, service.base, EDITOR, PASSWORD)
    pages = {
        "dashboard": f"{service.base}/admin/",
        "subscriber list": f"{service.base}/admin/newsletters/{SLUG}",
        "newsletter form": f"{service.base}/admin/newsletters/{SLUG}/edit",
        "new newsletter form": f"{service.base}/admin/newsletters/new",
        # The owner's pages (the first editor is an owner).
        "editors": f"{service.base}/admin/editors",
        "API tokens": f"{service.base}/admin/tokens",
        "audit trail": f"{service.base}/admin/audit",
        "webhooks": f"{service.base}/admin/newsletters/{SLUG}/webhooks",
    }
    for name, url in pages.items():
        phone.goto(url)
        assert phone.url == url, name
        assert_fits_phone_and_passes_axe(phone)
    # A new endpoint's secret, shown once.
    phone.get_by_label("URL").fill("https://crm.example.invalid/another")
    phone.get_by_role("button", name="Add endpoint").click()
    phone.wait_for_load_state()
    assert (
        "whsec_"
        in phone.get_by_role(
            "region", name="Added https://crm.example.invalid/another"
        ).inner_text()
    )
    assert_fits_phone_and_passes_axe(phone)
    _open_subscriber(phone, service, LONG_ADDRESS)
    assert_fits_phone_and_passes_axe(phone)
    phone.get_by_role("link", name="Erase this reader everywhere…").click()
    phone.wait_for_url("**/erase")
    assert_fits_phone_and_passes_axe(phone)


def test_an_owner_makes_a_token_on_a_phone_and_sees_its_secret_once(service, phone):
    sign_in_to_admin(phone, service.base, EDITOR, PASSWORD)
    phone.goto(f"{service.base}/admin/tokens")
    phone.get_by_label("What it is for").fill("newsroom dashboard")
    phone.get_by_label(SLUG).check()
    phone.get_by_role("button", name="Make token").click()
    phone.wait_for_load_state()
    secret = phone.locator("#token-secret").inner_text()
    assert secret.startswith("nl_")
    assert_fits_phone_and_passes_axe(phone)
    phone.goto(f"{service.base}/admin/tokens")
    assert secret not in phone.content()
    assert "newsroom dashboard" in phone.get_by_role("table").inner_text()


def test_erasing_asks_for_confirmation_first(service, phone, smtp_server):
    address = "forget-me@example.com"
    _sign_up(service, address)
    sign_in_to_admin(phone, service.base, EDITOR, PASSWORD)
    _open_subscriber(phone, service, address)

    phone.get_by_role("link", name="Erase this reader everywhere…").click()
    phone.wait_for_url("**/erase")
    assert "Erasing cannot be undone." in phone.get_by_role("main").inner_text()
    assert service.subscriptions_of(address) == 1  # nothing happens on the way there

    phone.get_by_role("button", name="Erase permanently").click()
    phone.wait_for_url(f"**/admin/newsletters/{SLUG}")
    assert "Erased." in phone.get_by_role("status").inner_text()
    assert service.subscriptions_of(address) == 0
