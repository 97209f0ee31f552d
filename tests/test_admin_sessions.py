"""Ending an editor's sessions: sign-out, a new password, disabling, and idle expiry.

A session is a signed cookie; whoever holds a copy (a shared computer, a proxy log, a
stolen backup) holds the session. Sign-out, ``admins set-password`` and ``admins
disable`` must end every copy, and an unused session must end on its own.
"""

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from newsletter import create_app
from newsletter.db import database
from newsletter.models import Editor
from tests.admin_steps import EDITOR
from tests.admin_steps import PASSWORD
from tests.admin_steps import create_editor
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client

NEW_PASSWORD = "a brand new passphrase"
LOGIN_FAILED = "That address and password do not match."
WORKING_DAY = 8 * 3600


def copy_of_session(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.set_cookie(name, client.get_cookie(name).value)
    return thief


def is_signed_in(client) -> bool:
    """Whether /admin opens (200) rather than sending the browser to sign in (302)."""
    status = client.get("/admin/").status_code
    assert status in (200, 302)
    return status == 200


def sign_out(client):
    dashboard = client.get("/admin/")
    return client.post("/admin/logout", data={"csrf_token": page_csrf_token(dashboard.text)})


def admins(runner, *args: str, stdin: str | None = None):
    """Run ``newsletter admins ARGS``."""
    return runner.invoke(args=["admins", *args], input=stdin)


def stored_editor(app, email: str) -> Editor:
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(select(Editor).where(Editor.email == email)).one()


def session_cookie(app, response) -> dict[str, str]:
    """The attributes of the session's Set-Cookie header (names in lower case)."""
    name = app.config["SESSION_COOKIE_NAME"]
    [header] = [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")
    ]
    attributes = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


def signed_ago(app, cookie: str, seconds: int) -> str:
    """The same session, signed ``seconds`` ago: an old copy of the cookie, as kept by a thief.

    Flask signs the session with itsdangerous; the signer's clock is the only thing changed.
    """

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    serializer = app.session_interface.get_signing_serializer(app)
    payload = serializer.loads(cookie)
    serializer.signer = PastSigner
    return serializer.dumps(payload)


# --- Signing out ends every copy of the session ----------------------------------------------


def test_a_copied_session_stops_working_at_sign_out(app, runner):
    client = signed_in_client(app, runner)
    thief = copy_of_session(app, client)
    assert is_signed_in(thief)  # the copy works while the editor is signed in

    assert sign_out(client).status_code == 303
    assert not is_signed_in(client)
    assert not is_signed_in(thief)
    response = thief.get("/admin/", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_sign_out_ends_the_editors_sessions_in_other_browsers(app, runner):
    client = signed_in_client(app, runner)
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 303
    assert sign_out(client).status_code == 303
    assert not is_signed_in(laptop)
    # Signing in again starts a session that works.
    assert sign_in(laptop).status_code == 303
    assert is_signed_in(laptop)


def test_sign_out_leaves_other_editors_signed_in(app, runner):
    client = signed_in_client(app, runner)
    colleague = signed_in_client(app, runner, email="kate@example.com")
    assert sign_out(client).status_code == 303
    assert is_signed_in(colleague)


# --- admins set-password -------------------------------------------------------------------


def test_set_password_ends_sessions_and_replaces_the_password(app, runner):
    client = signed_in_client(app, runner)
    thief = copy_of_session(app, client)
    result = admins(runner, "set-password", EDITOR, stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output  # typed without echo
    assert f"New password for {EDITOR}" in result.output

    assert not is_signed_in(client)
    assert not is_signed_in(thief)
    assert sign_in(app.test_client(), password=PASSWORD).status_code == 401
    assert sign_in(client, password=NEW_PASSWORD).status_code == 303
    assert is_signed_in(client)


def test_set_password_reads_standard_input_for_scripts(app, runner):
    assert create_editor(runner).exit_code == 0
    result = admins(
        runner, "set-password", "Ed@Example.com", "--password-stdin", stdin=NEW_PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("email", "stdin", "message"),
    [
        (EDITOR, f"{NEW_PASSWORD}\n{NEW_PASSWORD}!\n", "do not match"),
        (EDITOR, "eleven char\neleven char\n", "at least 12 characters"),
        ("nobody@example.com", f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "no editor"),
    ],
)
def test_set_password_refusals_change_nothing(app, runner, email, stdin, message):
    client = signed_in_client(app, runner)
    result = admins(runner, "set-password", email, stdin=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert is_signed_in(client)
    assert sign_in(app.test_client()).status_code == 303


# --- admins disable / enable / list --------------------------------------------------------


def test_disable_ends_sessions_and_refuses_sign_in_until_enabled(app, runner):
    client = signed_in_client(app, runner)
    thief = copy_of_session(app, client)
    result = admins(runner, "disable", "ED@example.com")
    assert result.exit_code == 0, result.output
    assert f"Disabled editor {EDITOR}" in result.output
    assert not is_signed_in(client)
    assert not is_signed_in(thief)

    refused = sign_in(client)
    assert refused.status_code == 401
    assert LOGIN_FAILED in refused.text  # the same answer as a wrong password
    assert not is_signed_in(client)

    result = admins(runner, "enable", EDITOR)
    assert result.exit_code == 0, result.output
    assert f"Enabled editor {EDITOR}" in result.output
    assert not is_signed_in(thief)  # enabling does not bring old sessions back
    assert sign_in(client).status_code == 303
    assert is_signed_in(client)


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_disable_and_enable_of_an_unknown_editor_are_refused(app, runner, command):
    assert create_editor(runner).exit_code == 0
    result = admins(runner, command, "nobody@example.com")
    assert result.exit_code == 1
    assert "no editor with the address nobody@example.com" in result.output
    assert "Traceback" not in result.output


def test_list_shows_each_editor_with_sign_in_and_state(app, runner):
    client = signed_in_client(app, runner)
    assert create_editor(runner, email="kate@example.com").exit_code == 0
    assert admins(runner, "disable", "kate@example.com").exit_code == 0
    assert sign_out(client).status_code == 303
    ed, kate = stored_editor(app, EDITOR), stored_editor(app, "kate@example.com")

    result = admins(runner, "list")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert rows == [
        [
            EDITOR,
            f"created {ed.created_at:%Y-%m-%d}",
            f"last sign-in {ed.last_login_at:%Y-%m-%d %H:%M}",
            "active",
            "owner",  # the first editor
        ],
        [
            "kate@example.com",
            f"created {kate.created_at:%Y-%m-%d}",
            "last sign-in never",
            f"disabled {kate.disabled_at:%Y-%m-%d %H:%M}",
            "viewer of nothing",  # a later one, until an owner says
        ],
    ]


# --- Idle sessions end on their own --------------------------------------------------------


@pytest.fixture(params=[None, 900], ids=["default", "configured"])
def idle_app(request, settings):
    """An app with the default idle lifetime, or a configured one; and that lifetime."""
    seconds = request.param
    overrides = {} if seconds is None else {"ADMIN_SESSION_IDLE_SECONDS": seconds}
    app = create_app(settings | overrides)
    yield app, seconds or WORKING_DAY
    database(app).engine.dispose()


def test_the_session_cookie_expires_after_the_idle_lifetime(idle_app):
    app, lifetime = idle_app
    assert create_editor(app.test_cli_runner()).exit_code == 0
    client = app.test_client()
    before = datetime.now(UTC).replace(microsecond=0)
    response = sign_in(client)
    after = datetime.now(UTC)
    assert response.status_code == 303
    expires = parsedate_to_datetime(session_cookie(app, response)["expires"])
    assert before + timedelta(seconds=lifetime) <= expires <= after + timedelta(seconds=lifetime)

    # Each request renews it: an editor at work is not signed out mid-task.
    before = datetime.now(UTC).replace(microsecond=0)
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    renewed = parsedate_to_datetime(session_cookie(app, dashboard)["expires"])
    assert renewed >= before + timedelta(seconds=lifetime)


def test_a_cookie_older_than_the_idle_lifetime_is_refused(idle_app):
    app, lifetime = idle_app
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = signed_in_client(app, app.test_cli_runner()).get_cookie(name).value

    recent = app.test_client()
    recent.set_cookie(name, signed_ago(app, cookie, lifetime - 60))
    assert is_signed_in(recent)  # the forged timestamp alone decides

    stale = app.test_client()
    stale.set_cookie(name, signed_ago(app, cookie, lifetime + 60))
    assert not is_signed_in(stale)
