"""`newsletter serve` as a newcomer meets it: a real server process on the embedded default.

A browser-style walk: open the form, submit it, find the confirmation link in the .eml
file the server wrote (and in its log), open the link, press the button.
"""

import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.browser import Service
from tests.browser import wait_for
from tests.conftest import free_port
from tests.reader import csrf_token


@pytest.fixture
def server(tmp_path: Path):
    """`newsletter serve` on a fresh instance folder, with mail written to files (no URL)."""
    service = Service(tmp_path / "instance", free_port(), mail_url="")
    service.start()
    yield service
    service.stop()


def test_walk_from_form_to_confirmed(server):
    base, mail = server.base, server.instance / "mail"
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    form = browser.open(f"{base}/").read().decode()
    assert "Explaining Ukraine with Kate Tsurkan" in form
    body = urllib.parse.urlencode({"email": "walker@example.com", "csrf_token": csrf_token(form)})
    thanks = browser.open(f"{base}/newsletters/explaining-ukraine/subscribe", body.encode())
    assert thanks.url.startswith(f"{base}/newsletters/explaining-ukraine/subscribed?sent_to=")
    page = thanks.read().decode()
    assert "Successfully subscribed" in page
    assert "w***@example.com" in page

    eml = wait_for(lambda: sorted(mail.glob("*.eml")), "the confirmation email")
    assert "walker@example.com" in eml[0].read_text()
    logged = wait_for(
        lambda: re.search(rf"{re.escape(base)}/confirm/\S+", server.log_path.read_text()),
        "the confirmation link in the log",
    )
    link = logged.group(0)
    log = server.log_path.read_text()
    assert "walker@example.com" not in log
    # The operator sees what was written and for whom, the address masked.
    assert "Mail (confirmation to ***@example.com) written to" in log

    assert "Confirm subscription" in browser.open(link).read().decode()
    confirmed = browser.open(urllib.request.Request(link, method="POST"))
    assert "Subscription confirmed" in confirmed.read().decode()
    wait_for(lambda: len(list(mail.glob("*.eml"))) == 2, "the welcome email")
