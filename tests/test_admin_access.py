"""Who may use /admin: editors made on the command line, their sign-in, tokens for scripts.

Every admin route is found in the app's URL map, so a page added later is checked too.
"""

import logging
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import Editor
from tests.admin_steps import EDITOR
from tests.admin_steps import PASSWORD
from tests.admin_steps import bearer
from tests.admin_steps import create_editor
from tests.admin_steps import create_token
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.admin_steps import stored_tokens
from tests.reader import SLUG
from tests.reader import count
from tests.reader import deliver
from tests.reader import sign_up
from tests.reader import subscriptions

EXPORT = f"/admin/newsletters/{SLUG}/subscribers.csv"
OPEN_ENDPOINTS = {"admin.login"}
TOKEN_ENDPOINTS = {"admin.export_csv", "admin.export_all_csv"}
WRONG_PASSWORD = "not the right password"
LOGIN_FAILED = "That address and password do not match."


def editors(app) -> list[Editor]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(Editor).order_by(Editor.id)))


def admin_requests(app, public_id: str, skip: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(method, path) of every admin route but the sign-in page, with real URL values.

    The seeded newsletter's slug and a real subscriber's id fill the URL variables, so the
    views would find something to show; any other variable gets a placeholder (the check
    of who is asking comes before the view).
    """
    values = {"slug": SLUG, "public_id": public_id}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in OPEN_ENDPOINTS | skip:
            continue
        arguments = {name: values.get(name, "1") for name in rule.arguments}
        _, path = rule.build(arguments, append_unknown=False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def reader_public_id(app, client) -> str:
    """Sign a reader up, so that subscriber pages have someone to show."""
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(app.test_cli_runner())
    return subscriptions(app)[0].public_id


def anonymous_csrf_token(client) -> str:
    """A valid CSRF token for an anonymous browser: POSTs then meet the sign-in check."""
    return page_csrf_token(client.get("/admin/login").text)


def send(client, method: str, path: str, token: str, **kwargs):
    data = {"csrf_token": token} if method != "GET" else None
    return client.open(path, method=method, data=data, **kwargs)


# --- Editors from the command line ---------------------------------------------------------


def test_admins_create_reads_the_password_from_stdin(app, runner):
    result = create_editor(runner)
    assert result.exit_code == 0, result.output
    assert f"Created editor {EDITOR}" in result.output
    [editor] = editors(app)
    assert editor.email == EDITOR
    assert sign_in(app.test_client()).status_code == 303


def test_stored_password_is_a_scrypt_hash_never_the_password(app, runner):
    assert create_editor(runner).exit_code == 0
    [editor] = editors(app)
    assert editor.password_hash.startswith("scrypt:")
    assert PASSWORD not in editor.password_hash
    assert PASSWORD.encode().hex() not in editor.password_hash


def test_admins_create_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(args=["admins", "create", EDITOR], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # typed without echo
    assert sign_in(app.test_client()).status_code == 303


def test_admins_create_with_mismatched_prompts_creates_nobody(app, runner):
    result = runner.invoke(args=["admins", "create", EDITOR], input=f"{PASSWORD}\n{PASSWORD}!\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert editors(app) == []


def test_short_password_is_refused(app, runner):
    result = create_editor(runner, password="eleven char")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert "Traceback" not in result.output
    assert editors(app) == []


@pytest.mark.parametrize("email", ["not-an-address", "ed@", "@example.com", "ed@@example.com"])
def test_invalid_address_is_refused(app, runner, email):
    result = create_editor(runner, email=email)
    assert result.exit_code == 1
    assert "not a valid address" in result.output
    assert editors(app) == []


def test_duplicate_editor_is_refused_whatever_the_casing(app, runner):
    assert create_editor(runner).exit_code == 0
    result = create_editor(runner, email="ED@Example.COM", password="another long password")
    assert result.exit_code == 1
    assert "exists already" in result.output
    assert len(editors(app)) == 1
    assert sign_in(app.test_client(), password="another long password").status_code == 401


# --- Nobody gets in without signing in -----------------------------------------------------


def test_every_admin_page_sends_anonymous_visitors_to_sign_in(app, client):
    public_id = reader_public_id(app, client)
    token = anonymous_csrf_token(client)
    routes = admin_requests(app, public_id)
    assert ("GET", "/admin/") in routes
    assert ("GET", EXPORT) in routes
    refused = []
    for method, path in routes:
        response = send(client, method, path, token)
        location = urlsplit(response.headers.get("Location", ""))
        if (
            response.status_code not in (302, 303)
            or location.path != "/admin/login"
            or parse_qs(location.query).get("next") != [path]
        ):
            refused.append((method, path, response.status_code, response.headers.get("Location")))
    assert refused == []
    # Nothing an anonymous POST asked for happened.
    assert [row.public_id for row in subscriptions(app)] == [public_id]


def test_every_admin_route_answers_json_401_to_scripts(app, client):
    public_id = reader_public_id(app, client)
    token = anonymous_csrf_token(client)
    wrong = []
    for method, path in admin_requests(app, public_id):
        response = send(client, method, path, token, headers={"Accept": "application/json"})
        if response.status_code != 401 or response.json.get("error") != "unauthorized":
            wrong.append((method, path, response.status_code, response.text[:100]))
    assert wrong == []
    assert len(subscriptions(app)) == 1


def test_every_admin_route_refuses_a_wrong_bearer_token_in_json(app, client):
    public_id = reader_public_id(app, client)
    token = anonymous_csrf_token(client)
    wrong = []
    for method, path in admin_requests(app, public_id):
        # A script's usual request: curl sends "Accept: */*".
        headers = bearer("nl_" + "x" * 43) | {"Accept": "*/*"}
        response = send(client, method, path, token, headers=headers)
        if response.status_code != 401 or not response.is_json:
            wrong.append((method, path, response.status_code, response.content_type))
    assert wrong == []


def test_an_anonymous_visitor_learns_nothing_of_which_newsletters_exist(app, client):
    """The sign-in check comes before the newsletter lookup: an unknown slug is no 404."""
    for slug in (SLUG, "no-such-newsletter"):
        response = client.get(f"/admin/newsletters/{slug}/edit")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/admin/login"
    assert (
        client.get("/admin/newsletters/no-such/subscribers.csv", headers=bearer("nl_x")).status_code
        == 401
    )


def test_signing_in_after_the_redirect_leads_back_to_the_page(app, client, runner):
    assert create_editor(runner).exit_code == 0
    wanted = f"{EXPORT}?status=confirmed"
    redirected = client.get(wanted)
    login_url = redirected.headers["Location"]
    assert parse_qs(urlsplit(login_url).query)["next"] == [wanted]

    form = client.get(login_url)
    response = client.post(
        login_url,
        data={"email": EDITOR, "password": PASSWORD, "csrf_token": page_csrf_token(form.text)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == wanted
    assert client.get(wanted).status_code == 200


# --- API tokens: the export only -----------------------------------------------------------


def _wrong(secret: str) -> str:
    return "Bearer nl_" + "A" * 43


def _tampered(secret: str) -> str:
    return f"Bearer {secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"


def _too_long(secret: str) -> str:
    return f"Bearer {secret}{'a' * 200}"


def _no_prefix(secret: str) -> str:
    return f"Bearer {secret.removeprefix('nl_')}"


def _empty(secret: str) -> str:
    return "Bearer "


def _basic(secret: str) -> str:
    return f"Basic {secret}"


def _token_scheme(secret: str) -> str:
    return f"Token {secret}"


def _bare(secret: str) -> str:
    return secret


def _garbage(secret: str) -> str:
    return "Bearer \x7f\u0000 ☃"


@pytest.mark.parametrize(
    "authorization",
    [_wrong, _tampered, _too_long, _no_prefix, _empty, _basic, _token_scheme, _bare, _garbage],
)
def test_export_refuses_a_bad_token(app, runner, authorization):
    _, secret = create_token(runner)
    client = app.test_client()
    response = client.get(EXPORT, headers={"Authorization": authorization(secret)})
    assert response.status_code == 401
    assert "text/csv" not in response.content_type
    # The real token still works: the refusal was about the header, not the token.
    assert client.get(EXPORT, headers=bearer(secret)).status_code == 200


def test_export_refuses_a_revoked_token(app, runner):
    token_id, secret = create_token(runner)
    client = app.test_client()
    assert client.get(EXPORT, headers=bearer(secret)).status_code == 200
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    response = client.get(EXPORT, headers=bearer(secret) | {"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_token_opens_the_export_and_nothing_else(app, client, runner, caplog):
    public_id = reader_public_id(app, client)
    _, secret = create_token(runner)
    assert stored_tokens(app)[0].last_used_at is None

    caplog.set_level(logging.INFO, logger="newsletter.web.admin.downloads")
    export = client.get(EXPORT, headers=bearer(secret))
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert stored_tokens(app)[0].last_used_at is not None
    # The export is logged with the token's name; a script gets no session cookie.
    assert "by token nightly ESP sync" in caplog.text
    assert "Set-Cookie" not in export.headers

    token = anonymous_csrf_token(client)
    others = admin_requests(app, public_id, skip=TOKEN_ENDPOINTS)
    assert ("GET", "/admin/") in others
    let_in = []
    for method, path in others:
        response = send(client, method, path, token, headers=bearer(secret))
        if response.status_code != 401:
            let_in.append((method, path, response.status_code))
    assert let_in == []


# --- Signing in ----------------------------------------------------------------------------


def test_wrong_password_is_401_with_a_message(app, client, runner):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, password=WRONG_PASSWORD)
    assert response.status_code == 401
    assert LOGIN_FAILED in response.text
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"), [("", ""), (EDITOR, ""), ("", PASSWORD), ("  ", "  ")]
)
def test_an_incomplete_sign_in_says_what_is_missing(app, client, runner, email, password):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 400
    assert "Enter your email and password." in response.text
    assert client.get("/admin/").status_code == 302


def test_unknown_account_gets_the_same_answer(app, client, runner):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, email="nobody@example.com", password=PASSWORD)
    assert response.status_code == 401
    assert LOGIN_FAILED in response.text


def test_right_password_signs_in(app, client, runner):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, email="Ed@Example.com")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert editors(app)[0].last_login_at is not None


def test_session_cookie_is_httponly_samesite_lax_and_secure(app, client, runner):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client)
    assert response.status_code == 303
    [cookie] = [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{app.config['SESSION_COOKIE_NAME']}=")
    ]
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip() == "SameSite=Lax"
    assert "secure" in attributes  # PUBLIC_URL is https in the tests


def test_signing_in_starts_a_fresh_session(app, client, runner):
    assert create_editor(runner).exit_code == 0
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    login_page = client.get("/admin/login")
    before = client.get_cookie(cookie_name).value
    planted_token = page_csrf_token(login_page.text)

    response = client.post(
        "/admin/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": planted_token}
    )
    assert response.status_code == 303
    assert client.get_cookie(cookie_name).value != before
    # Nothing from the session before sign-in carries over, not even its CSRF secret.
    assert client.post("/admin/logout", data={"csrf_token": planted_token}).status_code == 400
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "next_url",
    ["/admin/", f"/admin/newsletters/{SLUG}/subscribers.csv?status=pending"],
)
def test_next_is_honoured_inside_admin(app, client, runner, next_url):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, next_url=next_url)
    assert response.status_code == 303
    assert response.headers["Location"] == next_url


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "javascript:alert(1)",
        "/newsletters/explaining-ukraine",
        "/administrator",
        "/admin//evil.example",
        # Header splitting: the target must never reach the Location header as it is.
        "/admin\r\nSet-Cookie: x=1",
        "/admin/\nLocation: https://evil.example/",
        "/admin/\x00",
        "/admin/\t",
        "/admin/ newsletters",
        "/admin/ünïcödé",
    ],
)
def test_next_elsewhere_is_ignored(app, client, runner, next_url):
    assert create_editor(runner).exit_code == 0
    response = sign_in(client, next_url=next_url)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


# --- CSRF and signing out ------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_sign_in_without_a_valid_csrf_token_is_400(app, client, runner, token):
    assert create_editor(runner).exit_code == 0
    client.get("/admin/login")  # the session has its CSRF secret; the form is not used
    data = {"email": EDITOR, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/admin/login", data=data)
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_logout_without_the_csrf_token_is_400_and_keeps_the_session(app, runner):
    client = signed_in_client(app, runner)
    assert client.post("/admin/logout").status_code == 400
    assert client.post("/admin/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200


def test_logout_ends_the_session(app, runner):
    client = signed_in_client(app, runner)
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    response = client.post("/admin/logout", data={"csrf_token": page_csrf_token(dashboard.text)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302
    assert client.get(EXPORT).status_code == 302
    assert count(app, Editor) == 1
