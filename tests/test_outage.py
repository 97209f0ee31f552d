"""While the database cannot be reached, every surface answers 503 quickly, never 500."""

import time

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from newsletter import create_app

DEADLINE_SECONDS = 5


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable_app(request, tmp_path):
    """An app whose database is not there: nothing listens on port 1; no such folder."""
    urls = {
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/none",
        "sqlite": f"sqlite:///{tmp_path}/missing/folder/newsletter.db",
    }
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": urls[request.param],
            "SECRET_KEY": "test secret key",
        }
    )


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("GET", "/", {}, None),
        ("GET", "/newsletters/explaining-ukraine", {}, None),
        ("POST", "/newsletters/explaining-ukraine/embed", {"Sec-Fetch-Site": "same-origin"}, {}),
        ("GET", "/api/v1/newsletters/explaining-ukraine", {"Origin": "https://a.example"}, None),
        ("POST", "/api/v1/newsletters/explaining-ukraine/subscriptions", {}, {"email": "a@b.cd"}),
        ("GET", "/confirm/not-a-token", {}, None),
    ],
)
def test_outage_is_a_quick_503_with_retry_after(unreachable_app, method, path, headers, body):
    client = unreachable_app.test_client()
    started = time.monotonic()
    if path.startswith("/api/"):
        response = client.open(path, method=method, headers=headers, json=body)
    else:
        response = client.open(path, method=method, headers=headers, data=body)
    assert time.monotonic() - started < DEADLINE_SECONDS
    if response.status_code == 404:  # a bad token is refused before the database is asked
        return
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    if path.startswith("/api/"):
        assert response.json["error"] == "service_unavailable"
    else:
        assert "Temporarily unavailable" in text


def test_healthz_reports_the_outage(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_a_connection_lost_after_the_answer_does_not_turn_it_into_a_500(app, client, monkeypatch):
    """The database restarting between the answer and the session's close: the answer stands.

    Found by the soak: the rollback on a terminated connection raised in the request's
    teardown, and gunicorn answered 500 instead of the page that was ready.
    """
    close = Session.close

    def terminated(session: Session) -> None:
        monkeypatch.setattr(Session, "close", close)
        raise OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    monkeypatch.setattr(Session, "close", terminated)
    response = client.get("/")
    assert response.status_code == 200
    assert Session.close is close  # the failing close was the request's
