"""On a phone in headless Chromium, the admin's bounced and complained badges, its filter
and the reader's page with the complaint fit the screen and pass axe."""

import pytest

from tests.bounce_steps import report_file
from tests.browser import Service
from tests.browser import assert_fits_phone_and_passes_axe
from tests.browser import messages_to
from tests.browser import sign_in_to_admin
from tests.browser import wait_for
from tests.conftest import free_port
from tests.test_admin_browser import EDITOR
from tests.test_admin_browser import PASSWORD
from tests.test_admin_browser import SLUG
from tests.test_admin_browser import _confirm
from tests.test_admin_browser import _open_subscriber
from tests.test_admin_browser import _sign_up
from tests.test_admin_browser import phone  # noqa: F401 (the fixture: a phone-sized page)

BOUNCER = "gone.for.good@example.com"
COMPLAINER = "marked-it-as-spam@example.com"


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server):
    """A served instance whose two readers' mail bounced and drew a complaint."""
    service = Service(tmp_path_factory.mktemp("bounces") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli("newsletters", "create", "--slug", SLUG, "--name", "Explaining Ukraine")
    service.create_editor(EDITOR, PASSWORD)
    service.start()
    reports = tmp_path_factory.mktemp("reports")
    for address, fixture in ((BOUNCER, "postfix-hard.eml"), (COMPLAINER, "outlook-arf.eml")):
        _sign_up(service, address)
        _confirm(service, smtp_server, address)
        welcome = wait_for(
            lambda address=address: messages_to(smtp_server.messages, address)[1:],
            f"the welcome to {address}",
        )[0]
        service.cli("bounces", "ingest", str(report_file(reports, fixture, welcome, address)))
    yield service
    service.stop()


def test_bounced_and_complained_readers_on_a_phone(service, phone):  # noqa: F811 (the fixture)
    sign_in_to_admin(phone, service.base, EDITOR, PASSWORD)
    phone.goto(f"{service.base}/admin/newsletters/{SLUG}")
    table = phone.get_by_role("table").inner_text().lower()
    assert "bounced" in table and "complained" in table
    assert_fits_phone_and_passes_axe(phone)

    phone.get_by_label("Status").select_option("complained")
    phone.get_by_role("button", name="Search").click()
    phone.wait_for_url("**status=complained*")
    table = phone.get_by_role("table").inner_text().lower()
    assert COMPLAINER in table and BOUNCER not in table
    assert_fits_phone_and_passes_axe(phone)

    _open_subscriber(phone, service, COMPLAINER)
    assert "marked our mail as spam" in phone.get_by_role("main").inner_text()
    assert_fits_phone_and_passes_axe(phone)
