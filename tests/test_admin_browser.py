"""An editor in headless Chromium: sign in, filter the subscribers, download the CSV."""

import csv
import io
import json
import re
import subprocess
import urllib.request

import pytest

from tests.browser import NEWSLETTER
from tests.browser import Service
from tests.browser import messages_to
from tests.browser import wait_for
from tests.conftest import free_port

SLUG = "explaining-ukraine"
EDITOR = "kate@example.com"
PASSWORD = "correct horse battery staple"
CONFIRMED = ("ada@example.com", "grace@example.com")
PENDING = ("linus@example.com",)


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """A served instance with an editor, two confirmed readers and a pending one."""
    service = Service(tmp_path_factory.mktemp("admin") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", "Explaining Ukraine")
    subprocess.run(
        [str(NEWSLETTER), "admins", "create", EDITOR, "--password-stdin"],
        input=f"{PASSWORD}\n",
        env=service.environment,
        check=True,
        capture_output=True,
        text=True,
    )
    service.start()
    for address in CONFIRMED + PENDING:
        _sign_up(service, address)
    for address in CONFIRMED:
        _confirm(service, smtp_server, address)
    yield service
    service.stop()


def _sign_up(service: Service, address: str) -> None:
    """A reader signs up through the JSON API (any surface would do)."""
    request = urllib.request.Request(
        f"{service.base}/api/v1/newsletters/{SLUG}/subscriptions",
        data=json.dumps({"email": address}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


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
