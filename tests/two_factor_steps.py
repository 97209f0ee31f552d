"""What an editor does with two-factor sign-in, through the HTTP client: enrol, give codes.

Codes are computed here with pyotp from the secret the enrolment page shows, as an
authenticator app would from the QR code.
"""

import re
import time

import pyotp

from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in

SECRET_ON_PAGE = re.compile(r'<code class="admin__secret" id="totp-secret">([A-Z2-7 ]+)</code>')
RECOVERY_CODE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")
STEP_SECONDS = 30


def secret_on(html: str) -> str:
    """The TOTP secret as the enrolment page spells it out (grouped by four)."""
    match = SECRET_ON_PAGE.search(html)
    assert match, "the page shows no secret"
    return match.group(1).replace(" ", "")


def code(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now, or for a later 30-second step (still inside the window)."""
    return pyotp.TOTP(secret).at(time.time() + steps_ahead * STEP_SECONDS)


def post_code(client, path: str, typed: str):
    """Type ``typed`` into the code form at ``path`` and send it."""
    form = client.get(path)
    return client.post(path, data={"code": typed, "csrf_token": page_csrf_token(form.text)})


def begin_enrolment(client) -> str:
    """Press "Set up two-factor sign-in"; the secret the page then shows."""
    page = client.get("/admin/two-factor")
    assert page.status_code == 200, page.text
    begun = client.post("/admin/two-factor/begin", data={"csrf_token": page_csrf_token(page.text)})
    assert begun.status_code == 303
    return secret_on(client.get("/admin/two-factor").text)


def enrol(client) -> tuple[str, list[str]]:
    """Enrol the browser's editor: their secret and the ten recovery codes shown once."""
    secret = begin_enrolment(client)
    done = post_code(client, "/admin/two-factor", code(secret))
    assert done.status_code == 200, done.text
    return secret, RECOVERY_CODE.findall(done.text)


def sign_in_with_code(client, email: str, password: str, typed: str):
    """Password, then ``typed`` at the code step; the code step's response."""
    first = sign_in(client, email, password)
    assert first.status_code == 303, first.text
    assert first.headers["Location"].startswith("/admin/login/code")
    return post_code(client, "/admin/login/code", typed)
