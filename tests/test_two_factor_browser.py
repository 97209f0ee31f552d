"""Two-factor sign-in in Chromium, on a phone's screen: enrol by reading the secret off the
page (codes computed with pyotp, as an app would), sign out, sign in with password and
code, then with a recovery code, which then stops working; wrong codes are throttled.
Every page of it fits the screen and passes axe-core.
"""

import time

import pyotp
import pytest

from tests.browser import Service
from tests.browser import assert_fits_phone_and_passes_axe
from tests.conftest import free_port
from tests.test_admin_browser import phone  # noqa: F401 (a page the size of a phone)

EDITOR = "kate@example.com"
PASSWORD = "correct horse battery staple"
ACCOUNT_LIMIT = 4


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """A served instance with one editor, its sign-in throttle on (4 attempts per account
    and network)."""
    service = Service(
        tmp_path_factory.mktemp("two-factor") / "instance", free_port(), smtp_server.url
    )
    service.environment.update(
        NEWSLETTER_RATELIMIT_ENABLED="true",
        NEWSLETTER_LOGIN_RATE_LIMIT=f"{ACCOUNT_LIMIT} per 15 minutes",
        NEWSLETTER_LOGIN_NETWORK_RATE_LIMIT="100 per 15 minutes",
    )
    service.cli("db", "upgrade")
    service.create_editor(EDITOR, PASSWORD)
    service.start()
    yield service
    service.stop()


def give_password(page, service: Service) -> None:
    page.goto(f"{service.base}/admin/login")
    page.get_by_label("Email").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def give_code(page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")


def status_text(page) -> str:
    return " ".join(page.get_by_role("status").all_inner_texts())


def test_enrol_then_sign_in_with_a_code_then_a_recovery_code(service, phone):  # noqa: F811
    give_password(phone, service)
    phone.wait_for_url("**/admin/")
    phone.get_by_role("link", name="Two-factor sign-in").click()
    phone.wait_for_url("**/admin/two-factor")
    assert_fits_phone_and_passes_axe(phone)
    phone.get_by_role("button", name="Set up two-factor sign-in").click()
    phone.wait_for_url("**/admin/two-factor")

    assert phone.get_by_role("img", name="QR code for your authenticator app").is_visible()
    assert_fits_phone_and_passes_axe(phone)
    secret = phone.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    phone.get_by_label("Type the 6-digit code the app shows").fill(totp.now())
    phone.get_by_role("button", name="Turn on two-factor sign-in").click()
    phone.wait_for_load_state()
    codes = phone.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    assert_fits_phone_and_passes_axe(phone)
    phone.get_by_role("link", name="Continue").click()
    phone.wait_for_url("**/admin/")
    sign_out(phone)

    # The password alone: the code step, not the admin.
    give_password(phone, service)
    phone.wait_for_url("**/admin/login/code")
    assert_fits_phone_and_passes_axe(phone)
    phone.goto(f"{service.base}/admin/")
    assert "/admin/login" in phone.url
    give_password(phone, service)
    give_code(phone, totp.at(time.time() + 30))  # the next step's code: this one is used
    phone.wait_for_url("**/admin/")
    sign_out(phone)

    give_password(phone, service)
    give_code(phone, codes[0])
    phone.wait_for_url("**/admin/")
    sign_out(phone)

    # The same recovery code again: refused, and wrong codes run into the throttle.
    give_password(phone, service)  # attempt 1 since the last sign-in
    give_code(phone, codes[0])  # 2
    assert "That code is not right." in status_text(phone)
    assert_fits_phone_and_passes_axe(phone)
    for _ in range(ACCOUNT_LIMIT - 2):  # 3, 4
        give_code(phone, "000000" if totp.now() != "000000" else "111111")
        assert "That code is not right." in status_text(phone)
    give_code(phone, codes[1])  # a good code, refused unchecked
    assert "Too many sign-in attempts. Try again in 15 minutes." in status_text(phone)
    assert_fits_phone_and_passes_axe(phone)
    phone.goto(f"{service.base}/admin/")
    assert "/admin/login" in phone.url
