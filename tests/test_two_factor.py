"""Two-factor sign-in: enrolment with a QR code, codes from an app, single-use recovery
codes, the setting that makes it mandatory, and the throttle on the second step.

A stolen password alone must not open the admin (SECURITY.md). The throttle on the
second step is tested with the password's, in test_sign_in_throttle.py.
"""

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy import update

from newsletter.db import database
from newsletter.models import Editor
from newsletter.models import RecoveryCode
from tests.admin_steps import EDITOR
from tests.admin_steps import PASSWORD
from tests.admin_steps import create_editor
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.test_admin_sessions import is_signed_in
from tests.test_admin_sessions import sign_out
from tests.test_erasure import traces
from tests.two_factor_steps import begin_enrolment
from tests.two_factor_steps import code
from tests.two_factor_steps import enrol
from tests.two_factor_steps import post_code
from tests.two_factor_steps import secret_on
from tests.two_factor_steps import sign_in_with_code

WRONG_CODE = "That code is not right."


def stored_editor(app) -> Editor:
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(select(Editor).where(Editor.email == EDITOR)).one()


def forget_last_step(app) -> None:
    """As if the last code accepted were long ago (so that the next test step may use
    the current code again without waiting 30 seconds)."""
    with app.app_context(), database(app).transaction() as session:
        session.execute(update(Editor).values(totp_last_step=None))


def enrolled_editor(app, runner) -> tuple[str, list[str]]:
    """An editor who enrolled and signed out: their secret and recovery codes."""
    client = signed_in_client(app, runner)
    secret, recovery = enrol(client)
    assert sign_out(client).status_code == 303
    return secret, recovery


def test_enrolment_shows_a_qr_code_and_the_secret_then_asks_for_a_code(app, runner):
    client = signed_in_client(app, runner)
    page = client.get("/admin/two-factor")
    assert "Set up two-factor sign-in" in page.text
    assert stored_editor(app).totp_secret is None  # looking changes nothing

    secret = begin_enrolment(client)
    page = client.get("/admin/two-factor")
    assert '<svg role="img"' in page.text and "<title>QR code" in page.text
    assert "<script" not in page.text and "<img" not in page.text  # drawn here, no service
    assert len(secret) == 32 and stored_editor(app).totp_secret == secret
    assert stored_editor(app).totp_enabled_at is None  # not in force before a code

    assert secret_on(client.get("/admin/two-factor").text) == secret  # a reload keeps it
    wrong = post_code(client, "/admin/two-factor", "000000" if code(secret) != "000000" else "1")
    assert wrong.status_code == 401
    assert WRONG_CODE in wrong.text
    assert stored_editor(app).totp_enabled_at is None

    done = post_code(client, "/admin/two-factor", code(secret))
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    assert stored_editor(app).totp_enabled_at is not None
    assert "Recovery codes left: <strong>10</strong>" in client.get("/admin/two-factor").text


def test_recovery_codes_are_ten_different_shown_once_and_stored_hashed(app, runner):
    client = signed_in_client(app, runner)
    _, recovery = enrol(client)
    assert len(set(recovery)) == 10
    with app.app_context(), database(app).transaction() as session:
        stored = set(session.scalars(select(RecoveryCode.code_hash)))
    expected = {hashlib.sha256(each.replace("-", "").encode()).hexdigest() for each in recovery}
    assert stored == expected
    assert traces(app, *recovery) == []
    assert all(each not in client.get("/admin/two-factor").text for each in recovery)


def test_a_password_alone_no_longer_signs_in(app, runner):
    secret, _ = enrolled_editor(app, runner)
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login/code"
    assert not is_signed_in(client)
    for path in ("/admin/", "/admin/newsletters/explaining-ukraine/subscribers.csv"):
        assert client.get(path).status_code == 302

    assert post_code(client, "/admin/login/code", code(secret, 1)).status_code == 303
    assert is_signed_in(client)
    assert stored_editor(app).last_login_at is not None


def test_the_code_step_sends_the_editor_where_they_were_going(app, runner):
    secret, _ = enrolled_editor(app, runner)
    client = app.test_client()
    first = sign_in(client, next_url="/admin/newsletters/explaining-ukraine")
    assert first.headers["Location"] == "/admin/login/code"
    done = post_code(client, "/admin/login/code", code(secret, 1))
    assert done.headers["Location"] == "/admin/newsletters/explaining-ukraine"


def test_a_code_works_once_within_its_window(app, runner):
    secret, _ = enrolled_editor(app, runner)
    typed = code(secret, 1)
    first = app.test_client()
    assert sign_in_with_code(first, EDITOR, PASSWORD, typed).status_code == 303

    replayed = sign_in_with_code(app.test_client(), EDITOR, PASSWORD, typed)
    assert replayed.status_code == 401
    assert WRONG_CODE in replayed.text
    # An older code than the one used is refused too.
    assert sign_in_with_code(app.test_client(), EDITOR, PASSWORD, code(secret)).status_code == 401


def test_a_recovery_code_signs_in_once(app, runner):
    _, recovery = enrolled_editor(app, runner)
    client = app.test_client()
    assert sign_in_with_code(client, EDITOR, PASSWORD, recovery[3].upper()).status_code == 303
    assert is_signed_in(client)
    assert "Recovery codes left: <strong>9</strong>" in client.get("/admin/two-factor").text

    again = app.test_client()
    assert sign_in_with_code(again, EDITOR, PASSWORD, recovery[3]).status_code == 401
    assert not is_signed_in(again)
    assert sign_in_with_code(again, EDITOR, PASSWORD, recovery[4]).status_code == 303


def test_another_editors_recovery_code_is_no_use(app, runner):
    _, recovery = enrolled_editor(app, runner)
    other = signed_in_client(app, runner, "other@example.com", PASSWORD)
    _, others = enrol(other)
    client = app.test_client()
    assert sign_in_with_code(client, EDITOR, PASSWORD, others[0]).status_code == 401
    assert sign_in_with_code(client, EDITOR, PASSWORD, recovery[0]).status_code == 303


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "1234567", "١٢٣٤٥٦", "abc-def", "x" * 10_000, "12 34\x0056", "' OR 1=1 --"],
)
def test_a_malformed_code_is_refused_cleanly(app, runner, typed):
    enrolled_editor(app, runner)
    client = app.test_client()
    response = sign_in_with_code(client, EDITOR, PASSWORD, typed)
    assert response.status_code in (400, 401)
    assert not is_signed_in(client)


def test_the_code_step_without_a_password_sends_to_sign_in(app, runner):
    enrolled_editor(app, runner)
    client = app.test_client()
    token = page_csrf_token(client.get("/admin/login").text)
    for response in (
        client.get("/admin/login/code"),
        client.post("/admin/login/code", data={"code": "123456", "csrf_token": token}),
        client.post("/admin/two-factor", data={"code": "123456", "csrf_token": token}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_a_new_password_ends_a_half_done_sign_in(app, runner):
    secret, _ = enrolled_editor(app, runner)
    client = app.test_client()
    assert sign_in(client).status_code == 303
    changed = runner.invoke(
        args=["admins", "set-password", EDITOR, "--password-stdin"], input="another passphrase!\n"
    )
    assert changed.exit_code == 0
    ended = client.get("/admin/login/code")
    assert ended.headers["Location"] == "/admin/login"
    assert "Sign in again" in client.get("/admin/login").text
    assert not is_signed_in(client)


def test_required_two_factor_makes_enrolment_part_of_the_next_sign_in(app, runner):
    app.config["ADMIN_REQUIRE_2FA"] = True
    assert create_editor(runner).exit_code == 0
    client = app.test_client()
    first = sign_in(client, next_url="/admin/newsletters/explaining-ukraine")
    assert first.status_code == 303
    assert first.headers["Location"] == "/admin/two-factor"
    assert not is_signed_in(client)
    page = client.get("/admin/two-factor")
    assert "Two-factor sign-in is required here" in page.text

    secret = begin_enrolment(client)
    assert not is_signed_in(client)
    done = post_code(client, "/admin/two-factor", code(secret))
    assert done.status_code == 200
    assert 'href="/admin/newsletters/explaining-ukraine"' in done.text  # Continue
    assert is_signed_in(client)

    # Next time: password, then code.
    assert sign_out(client).status_code == 303
    assert sign_in_with_code(client, EDITOR, PASSWORD, code(secret, 1)).status_code == 303


def test_reset_two_factor_from_the_command_line(app, runner):
    enrolled_editor(app, runner)
    result = runner.invoke(args=["admins", "reset-two-factor", EDITOR])
    assert result.exit_code == 0, result.output
    assert f"Two-factor sign-in reset for {EDITOR}" in result.output
    assert sign_in(app.test_client()).headers["Location"] == "/admin/"
    with app.app_context(), database(app).transaction() as session:
        assert session.scalars(select(RecoveryCode)).all() == []
    unknown = runner.invoke(args=["admins", "reset-two-factor", "nobody@example.com"])
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output
