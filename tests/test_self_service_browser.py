"""Readers' self-service in Chromium, on a phone: from the welcome email's manage link,
download my data, then "Erase me": the page that asks first, the button, the page that
says it is done, and the email. Each page fits the screen and passes axe-core.
"""

import json

from playwright.sync_api import expect

from tests.browser import Service
from tests.browser import assert_fits_phone_and_passes_axe
from tests.browser import messages_to
from tests.browser import wait_for
from tests.test_manage_browser import NAME
from tests.test_manage_browser import OTHER_SLUG
from tests.test_manage_browser import PHONE
from tests.test_manage_browser import SLUG
from tests.test_manage_browser import confirmed_reader
from tests.test_manage_browser import mailed_link
from tests.test_manage_browser import service  # noqa: F401 (the same served instance)


def test_download_my_data_then_erase_me(
    axe_page,
    service: Service,  # noqa: F811
    smtp_server,
    tmp_path,
):
    page = axe_page
    page.set_viewport_size(PHONE)
    email = confirmed_reader(page, service, smtp_server)
    page.goto(mailed_link(smtp_server, service, email, f"Welcome to {NAME}", "/manage/"))
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    assert_fits_phone_and_passes_axe(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data (JSON)").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["email"] == email
    assert sorted(each["newsletter"] for each in data["subscriptions"]) == sorted(
        (SLUG, OTHER_SLUG)
    )

    page.get_by_role("link", name="Erase me…").click()
    expect(page.get_by_role("heading", name="Erase your data?")).to_be_visible()
    assert_fits_phone_and_passes_axe(page)
    assert service.subscriptions_of(email) == 2  # asking changes nothing

    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("heading", name="Your data has been erased")).to_be_visible()
    assert_fits_phone_and_passes_axe(page)
    assert service.subscriptions_of(email) == 0
    assert service.rows("erasure") == 2

    wait_for(
        lambda: [
            message
            for message in messages_to(smtp_server.messages, email)
            if message["Subject"] == "Your data has been erased"
        ],
        "the email saying the data was erased",
    )
    wait_for(
        lambda: service.rows("outbox_message", kind="erasure_notice") == 0, "the notice forgotten"
    )
