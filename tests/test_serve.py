"""`newsletter serve` as a newcomer meets it: a real server process on the embedded default.

A browser-style walk: open the form, submit it, find the confirmation link in the .eml
file the server wrote (and in its log), open the link, press the button.
"""

import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.reader import csrf_token

NEWSLETTER = Path(sys.executable).with_name("newsletter")
DEADLINE_SECONDS = 20


def wait_for(condition, what: str):
    """Poll ``condition`` until it returns something truthy, or fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path: Path):
    """`newsletter serve` on a free port with a fresh instance folder; yields its base URL."""
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")
    }
    environment["NEWSLETTER_INSTANCE_PATH"] = str(tmp_path / "instance")
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(NEWSLETTER), "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(healthy, "the server to answer /healthz")
    yield base, tmp_path / "instance", log_path
    process.terminate()
    process.wait(timeout=10)


def test_walk_from_form_to_confirmed(server):
    base, instance, log_path = server
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    form = browser.open(f"{base}/").read().decode()
    assert "Explaining Ukraine with Kate Tsurkan" in form
    body = urllib.parse.urlencode({"email": "walker@example.com", "csrf_token": csrf_token(form)})
    thanks = browser.open(f"{base}/newsletters/explaining-ukraine/subscribe", body.encode())
    assert thanks.url == f"{base}/newsletters/explaining-ukraine/subscribed"
    assert "Successfully subscribed" in thanks.read().decode()

    eml = wait_for(lambda: sorted((instance / "mail").glob("*.eml")), "the confirmation email")
    assert "walker@example.com" in eml[0].read_text()
    logged = wait_for(
        lambda: re.search(rf"{re.escape(base)}/confirm/\S+", log_path.read_text()),
        "the confirmation link in the log",
    )
    link = logged.group(0)
    assert "walker@example.com" not in log_path.read_text()

    assert "Confirm subscription" in browser.open(link).read().decode()
    confirmed = browser.open(urllib.request.Request(link, method="POST"))
    assert "Subscription confirmed" in confirmed.read().decode()
    wait_for(lambda: len(list((instance / "mail").glob("*.eml"))) == 2, "the welcome email")
