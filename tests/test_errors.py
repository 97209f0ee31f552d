"""Errors as callers meet them: our own pages or JSON, never a traceback, nothing changed."""

import io
import re

import pytest
from sqlalchemy import make_url

from newsletter import create_app
from newsletter import newsletters
from newsletter.db import database
from newsletter.db import session as request_session
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from tests.admin_steps import signed_in_client
from tests.reader import count
from tests.reader import csrf_token
from tests.reader import deliver

PAGE = "/newsletters/explaining-ukraine"
SUBSCRIBE = f"{PAGE}/subscribe"
WERKZEUG_404_TEXT = "The requested URL was not found on the server"
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def title(html: str) -> str:
    match = TITLE.search(html)
    assert match, "the page has no title"
    return match.group(1).strip()


def assert_nothing_stored(app) -> None:
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, OutboxMessage) == 0


def test_not_found_is_our_page(app, client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert title(response.text) == "Page not found"
    assert "There is nothing at this address." in response.text
    assert WERKZEUG_404_TEXT not in response.text
    assert 'href="/"' in response.text  # a way back to the newsletters


def test_not_found_is_json_for_a_client_that_asks_for_json(app, client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == "not_found"
    assert body["message"]
    assert WERKZEUG_404_TEXT not in response.text


def test_browser_accept_header_gets_html(app, client):
    """A browser accepts */* too, but prefers HTML: it must get the page."""
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/no/such/page", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(app, client, method):
    response = client.open(SUBSCRIBE, method=method)
    assert response.status_code == 405
    allowed = {name.strip() for name in response.headers["Allow"].split(",")}
    assert "POST" in allowed
    assert method not in allowed
    assert title(response.text) == "Method not allowed"


def test_405_in_json_keeps_allow(app, client):
    response = client.put(SUBSCRIBE, headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_413(app, client):
    """A body over MAX_CONTENT_LENGTH (64 KiB) is refused before it is read."""
    token = csrf_token(client.get(PAGE).text)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 64 * 1024
    response = client.post(
        SUBSCRIBE,
        data={"email": "reader@example.com", "csrf_token": token, "padding": "x" * limit},
    )
    assert response.status_code == 413
    assert title(response.text) == "Request too large"
    assert_nothing_stored(app)


def test_body_just_under_the_limit_is_read(app, client):
    """The limit is where it says: a body that fits gets an ordinary answer."""
    token = csrf_token(client.get(PAGE).text)
    fields = {"email": "reader@example.com", "csrf_token": token}
    overhead = len("&padding=") + sum(len(f"{name}={value}&") for name, value in fields.items())
    padding = "x" * (app.config["MAX_CONTENT_LENGTH"] - overhead - 10)
    response = client.post(SUBSCRIBE, data={**fields, "padding": padding})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"\x00\xff\xfe\x80" * 64, "application/x-www-form-urlencoded", id="binary"),
        pytest.param(b"email=\xff\xfe@example.com", "application/x-www-form-urlencoded", id="raw"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png", id="image"),
        pytest.param(b"email=reader@example.com", "text/plain", id="text-plain"),
        pytest.param(b'{"email": "reader@example.com"}', "application/json", id="json"),
        pytest.param(b"--x\r\nbroken", "multipart/form-data; boundary=x", id="broken-multipart"),
        pytest.param(b"email=a", "multipart/form-data", id="multipart-without-boundary"),
        # Flask-WTF parses JSON into a form, also in the CSRF error handler (a 500, once).
        pytest.param(b"{", "application/json", id="json-open-brace"),
        pytest.param(b'"x"', "application/json", id="json-string"),
        pytest.param(b"\x00\xff\xfe\x80" * 64, "application/json", id="json-binary"),
        pytest.param(b"[" * 30000 + b"]" * 30000, "application/json", id="json-deep"),
    ],
)
def test_malformed_body_is_a_4xx_and_changes_nothing(app, client, body, content_type):
    client.get(PAGE)
    response = client.post(SUBSCRIBE, data=body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text
    assert_nothing_stored(app)


def test_invalid_utf8_with_a_valid_token_is_a_4xx(app, client):
    """Even past the CSRF check, undecodable bytes in the address are just a bad address."""
    token = csrf_token(client.get(PAGE).text)
    body = f"csrf_token={token}&email=".encode() + b"%FF%FE%00@example.com"
    response = client.post(SUBSCRIBE, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert_nothing_stored(app)


def test_address_sent_as_a_file_is_a_4xx(app, client):
    """A multipart body whose ``email`` is a file upload: no address, so nothing stored."""
    token = csrf_token(client.get(PAGE).text)
    response = client.post(
        SUBSCRIBE,
        data={
            "csrf_token": token,
            "email": (io.BytesIO(b"reader@example.com"), "address.txt", "text/plain"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Please, enter correct email address" in response.text
    assert_nothing_stored(app)


def test_multipart_form_with_an_extra_file_is_an_ordinary_signup(app, client, runner):
    """A form sent as multipart (as some browsers and scripts do) works; files are ignored."""
    token = csrf_token(client.get(PAGE).text)
    response = client.post(
        SUBSCRIBE,
        data={
            "csrf_token": token,
            "email": "reader@example.com",
            "attachment": (io.BytesIO(bytes(range(256)) * 16), "payload.bin"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    deliver(runner)
    assert count(app, Subscription) == 1


# The whole policy, written out here rather than read from the code under test: any
# source added to it (say 'unsafe-inline' or *) must fail a test.
STRICT_POLICY = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
}
FRAMING_SITE = "https://news.example.com"


def content_security_policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive → sources, in order."""
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        assert name not in policy, f"{name} given twice"
        policy[name] = sources
    return policy


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param("/", {}, 200, id="home"),
        pytest.param(PAGE, {}, 200, id="page"),
        pytest.param(f"{PAGE}/subscribed", {}, 200, id="subscribed"),
        pytest.param("/api/v1/newsletters/explaining-ukraine", {}, 200, id="api"),
        pytest.param("/api/v1/no/such/thing", {}, 404, id="api-error"),
        pytest.param("/no/such/page", {}, 404, id="error-page"),
        pytest.param("/healthz", {}, 200, id="healthz"),
        pytest.param("/admin/login", {}, 200, id="admin-sign-in"),
        pytest.param("/admin/", {}, 302, id="admin-anonymous"),
    ],
)
def test_security_headers(app, client, path, headers, status):
    """Every answer, errors and admin included, has the strict policy, unframable, no sniffing."""
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert content_security_policy(response) == STRICT_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_signed_in_admin_pages_have_the_strict_policy(app, runner):
    client = signed_in_client(app, runner)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert content_security_policy(response) == STRICT_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_iframe_form_differs_from_the_strict_policy_in_framing_only(app, client, runner):
    """The frame opens frame-ancestors to its allowed site; every other directive stays."""
    args = ["newsletters", "update", "explaining-ukraine", "--allow-origin", FRAMING_SITE]
    assert runner.invoke(args=args).exit_code == 0
    response = client.get(f"{PAGE}/embed")
    assert response.status_code == 200
    assert content_security_policy(response) == {
        **STRICT_POLICY,
        "frame-ancestors": [FRAMING_SITE],
    }
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_answers_ok(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["status"] == "ok"


def unreachable_database_url(working_url: str, silent_server: str, tmp_path) -> str:
    """A URL on the same backend that cannot be reached (a server that never answers; no
    such folder)."""
    if make_url(working_url).get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'newsletter.db'}"
    return f"postgresql+psycopg://postgres@{silent_server}/none"


def test_healthz_is_503_when_the_database_is_unreachable(settings, silent_server, tmp_path):
    """The probe says so in JSON, ended by the connect timeout, without leaking the error."""
    url = unreachable_database_url(settings["DATABASE_URL"], silent_server, tmp_path)
    app = create_app({**settings, "DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": 2})
    response = app.test_client().get("/healthz")
    database(app).engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert silent_server not in response.text
    assert "no-such-folder" not in response.text


SECRET_DETAIL = "secret detail from deep inside the code"


@pytest.fixture
def broken_app(app):
    """The app with a test-only route that writes to the database, then fails."""

    def boom():
        newsletters.create(request_session(), slug="half-done", name="Half done")
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/boom", view_func=boom)
    return app


def test_unexpected_error_is_our_500_page(broken_app, caplog):
    response = broken_app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert title(response.text) == "Something went wrong"
    assert SECRET_DETAIL not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # The operator gets the details in the log; the half-done write is rolled back.
    assert SECRET_DETAIL in caplog.text
    assert count(broken_app, Newsletter) == 1


def test_unexpected_error_in_json(broken_app, caplog):
    response = broken_app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"
    assert SECRET_DETAIL not in response.text


def test_https_responses_carry_hsts_and_http_ones_do_not(app, client):
    """Browsers are told to keep to HTTPS only when the service is reached over HTTPS."""
    secure = client.get("/healthz", base_url="https://news.example.org")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
