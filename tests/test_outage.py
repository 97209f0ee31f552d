"""While the database cannot be reached, every surface answers 503 with Retry-After, never 500.

"Cannot be reached" is the hard case: a server that takes the connection and never
answers (a hung machine), which only the configured connect timeout ends; and, for
SQLite, a file that cannot be opened.
"""

import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text

from newsletter import create_app
from newsletter import link_tokens
from newsletter.db import database
from newsletter.db import session as request_session
from tests.conftest import postgresql_only

SECRET = "test secret key"


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable_app(request, tmp_path):
    """An app whose database does not answer (PostgreSQL) or cannot be opened (SQLite)."""
    if request.param == "postgresql":
        server = request.getfixturevalue("silent_server")
        url = f"postgresql+psycopg://postgres@{server}/none"
    else:
        url = f"sqlite:///{tmp_path}/missing/folder/newsletter.db"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": url,
            "DATABASE_CONNECT_TIMEOUT": 2,
            "SECRET_KEY": SECRET,
        }
    )
    yield app
    database(app).engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        pytest.param("GET", "/", {}, None, id="home"),
        pytest.param("GET", "/newsletters/explaining-ukraine", {}, None, id="page"),
        pytest.param(
            "POST",
            "/newsletters/explaining-ukraine/embed",
            {"Sec-Fetch-Site": "same-origin"},
            {},
            id="frame-post",
        ),
        pytest.param(
            "GET",
            "/api/v1/newsletters/explaining-ukraine",
            {"Origin": "https://a.example"},
            None,
            id="api-get",
        ),
        pytest.param(
            "POST",
            "/api/v1/newsletters/explaining-ukraine/subscriptions",
            {},
            {"email": "a@b.cd"},
            id="api-post",
        ),
        pytest.param("GET", "/confirm/{token}", {}, None, id="confirm-page"),
        pytest.param("POST", "/confirm/{token}", {}, None, id="confirm"),
    ],
)
def test_outage_is_a_503_with_retry_after_within_the_connect_timeout(
    unreachable_app, method, path, headers, body
):
    # Signed with the app's key: the token is read, and the database asked, before any answer.
    path = path.format(token=link_tokens.make_confirm_token(SECRET, "Jr3a0cJ8m1h2YkZVv9Qe6w", 1))
    client = unreachable_app.test_client()
    if path.startswith("/api/"):
        response = client.open(path, method=method, headers=headers, json=body)
    else:
        response = client.open(path, method=method, headers=headers, data=body)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    if path.startswith("/api/"):
        assert response.json["error"] == "service_unavailable"
    else:
        assert "Temporarily unavailable" in text


def test_a_forged_link_is_refused_before_the_database_is_asked(unreachable_app):
    """A token that fails its signature is 404 at once: the outage is not even noticed."""
    response = unreachable_app.test_client().get("/confirm/not-a-token")
    assert response.status_code == 404
    assert "Retry-After" not in response.headers


def test_healthz_reports_the_outage(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def terminate(database_url: str, pid: int) -> None:
    """End a server process from outside, as a restart or an operator would."""
    helper = create_engine(database_url)
    try:
        with helper.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
    finally:
        helper.dispose()


@postgresql_only  # a server connection to lose; a SQLite file has none
def test_a_connection_lost_after_the_answer_does_not_turn_it_into_a_500(app, database_url):
    """The database ending the request's connection after the page is ready: the page stands.

    Found by the soak: the rollback on a terminated connection raised in the request's
    teardown, and gunicorn answered 500 instead of the page that was ready. Here the
    server really ends the connection, between the view and the teardown.
    """
    terminated = threading.Event()

    def cut_the_connection(response):
        pid = request_session().execute(text("SELECT pg_backend_pid()")).scalar_one()
        terminate(database_url, pid)
        terminated.set()
        return response

    app.after_request(cut_the_connection)
    response = app.test_client().get("/")
    assert terminated.is_set()
    assert response.status_code == 200
    assert "Explaining Ukraine" in response.text
    assert app.test_client().get("/").status_code == 200  # the pool recovered


@postgresql_only  # a server connection to lose at the commit
def test_a_connection_lost_at_the_commit_is_a_503_and_nothing_is_kept(app, database_url):
    """The request's one commit point fails (the server ended the connection): the caller
    gets the outage's 503 with Retry-After, not a 500, and the signup is not stored.

    Found by the soak, when the commit moved out of the views: a commit in an after-request
    hook escapes Flask's error handlers for its exception type.
    """
    cut = threading.Event()

    def cut_the_connection(session, *_args):
        if not cut.is_set():
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            terminate(database_url, pid)
            cut.set()

    sessions = database(app).writing_sessions
    event.listen(sessions, "before_commit", cut_the_connection)
    try:
        response = app.test_client().post(
            "/api/v1/newsletters/explaining-ukraine/subscriptions",
            json={"email": "reader@example.com"},
        )
    finally:
        event.remove(sessions, "before_commit", cut_the_connection)
    assert cut.is_set()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    with database(app).reading_sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM signup_request")) == 0
