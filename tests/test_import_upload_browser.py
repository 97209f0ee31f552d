"""An editor in headless Chromium uploads a 50,000-row Mailchimp export on the admin's
import page: the job's page shows the progress while ``newsletter serve``'s worker thread
imports it, then the report; on a phone both pages fit and pass axe."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser import PHONE
from tests.browser import Service
from tests.browser import assert_fits_phone_and_passes_axe
from tests.browser import sign_in_to_admin
from tests.conftest import free_port

SLUG = "explaining-ukraine"
EDITOR = "kate@example.com"
PASSWORD = "correct horse battery staple"
ROWS = 50_000
BAD_ROW = 25_000  # "not an address": skipped, on line BAD_ROW + 1 (after the header)
HEADER = "Email Address,First Name,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP"
# Long enough for the largest import a test machine could be slow at: a deadline, not a
# measurement.
IMPORT_DEADLINE_MS = 300_000
# Every text and value the progress display shows, kept across the page's reload.
RECORD_PROGRESS = """
window.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("import-progress");
  const words = document.getElementById("import-progress-text");
  if (!bar || !words) return;
  const record = () => {
    const seen = JSON.parse(sessionStorage.getItem("progress-seen") || "[]");
    seen.push([bar.hasAttribute("value") ? bar.value : null, bar.max, words.textContent]);
    sessionStorage.setItem("progress-seen", JSON.stringify(seen));
  };
  const changes = { childList: true, characterData: true, subtree: true };
  new MutationObserver(record).observe(words, changes);
  record();
});
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """A served instance with a newsletter and its first editor (an owner)."""
    service = Service(tmp_path_factory.mktemp("import") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", "Explaining Ukraine")
    service.create_editor(EDITOR, PASSWORD)
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    """A Mailchimp audience export (subscribed) of ROWS readers, one of them invalid."""
    path = tmp_path_factory.mktemp("export") / "subscribed_members_export.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(f"{HEADER}\r\n")
        for row in range(1, ROWS + 1):
            address = "not an address" if row == BAD_ROW else f"reader{row}@example.com"
            file.write(
                f"{address},Reader {row},2023-04-21 11:16:57,203.0.113.7,"
                "2023-04-21 11:18:02,203.0.113.8\r\n"
            )
    return path


def test_an_editor_uploads_50000_rows_sees_progress_then_the_report(
    service, browser, axe_browser, export_file
):
    page = browser.new_page()  # with the site's CSP: the progress script must pass it
    page.add_init_script(RECORD_PROGRESS)
    sign_in_to_admin(page, service.base, EDITOR, PASSWORD)
    page.goto(f"{service.base}/admin/newsletters/{SLUG}")
    page.get_by_role("link", name="Import a list").click()
    page.wait_for_url("**/import")
    page.get_by_label("CSV file").set_input_files(export_file)
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url("**/imports/*")
    job_url = page.url

    report = page.locator("#import-report")
    expect(report).to_be_visible(timeout=IMPORT_DEADLINE_MS)
    counts = dict(
        zip(
            report.locator("dt").all_inner_texts(),
            report.locator("dd").all_inner_texts(),
            strict=True,
        )
    )
    assert {name: counts[name] for name in counts if name != "File SHA-256"} == {
        "Format": "mailchimp",
        "Created": str(ROWS - 1),
        "Updated": "0",
        "Unchanged": "0",
        "Kept opted-out": "0",
        "Skipped (invalid)": "1",
    }
    skipped = page.get_by_role("table", name="Skipped lines")
    assert skipped.locator("tbody tr").all_inner_texts() == [
        f"{BAD_ROW + 1}\tinvalid address 'not an address'"
    ]
    assert service.rows("subscription", status="confirmed") == ROWS - 1

    seen = json.loads(page.evaluate("() => sessionStorage.getItem('progress-seen')"))
    running = [(value, maximum) for value, maximum, words in seen if words.startswith("Running:")]
    assert any(0 < value < maximum for value, maximum in running), seen
    assert seen[-1][0] == seen[-1][1]  # the report's page: all of it read
    page.close()

    phone = axe_browser.new_page()
    phone.set_viewport_size(PHONE)
    sign_in_to_admin(phone, service.base, EDITOR, PASSWORD)
    for url in (f"{service.base}/admin/newsletters/{SLUG}/import", job_url):
        phone.goto(url)
        assert_fits_phone_and_passes_axe(phone)
    phone.close()
