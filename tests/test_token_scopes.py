"""API tokens: scoped to newsletters, to the export only, for a time.

Every export route × each kind of token (every newsletter, one newsletter, expired,
revoked) answers 200, 403 (out of scope) or 401 (no longer a token), on both backends.
"""

from datetime import timedelta

import pytest
from sqlalchemy import update

from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import ApiToken
from tests.admin_steps import bearer
from tests.admin_steps import create_token
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.admin_steps import stored_tokens
from tests.reader import SLUG
from tests.reader import shown_text
from tests.test_export import records
from tests.test_export import signed_up

OWN = SLUG
OTHER = "other"
EXPORT_ROUTES = {
    "own": f"/admin/newsletters/{OWN}/subscribers.csv",
    "other": f"/admin/newsletters/{OTHER}/subscribers.csv",
    "all": "/admin/subscribers.csv",
}
# The kind of token → its answer on each export route.
EXPECTED = {
    "every newsletter": {"own": 200, "other": 200, "all": 200},
    "own newsletter": {"own": 200, "other": 403, "all": 200},
    "expired": {"own": 401, "other": 401, "all": 401},
    "revoked": {"own": 401, "other": 401, "all": 401},
}


@pytest.fixture
def two_lists(app, runner, mailbox):
    created = runner.invoke(args=["newsletters", "create", "--slug", OTHER, "--name", "Other"])
    assert created.exit_code == 0, created.output
    signed_up(app, "own@example.com", "192.0.2.1", slug=OWN)
    signed_up(app, "other@example.com", "192.0.2.2", slug=OTHER)


def expire(app, token_id: int) -> None:
    """Move a token's expiry into the past, as time would."""
    with app.app_context(), database(app).transaction() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def make(app, runner, kind: str) -> str:
    """A token of ``kind``; its secret."""
    options = ["--newsletter", OWN] if kind == "own newsletter" else []
    token_id, secret = create_token(runner, kind, *options)
    if kind == "expired":
        expire(app, token_id)
    if kind == "revoked":
        assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    return secret


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_export_route_answers_by_the_tokens_scope_and_expiry(app, runner, two_lists, kind):
    secret = make(app, runner, kind)
    client = app.test_client()
    answers = {
        route: client.get(path, headers=bearer(secret)).status_code
        for route, path in EXPORT_ROUTES.items()
    }
    assert answers == EXPECTED[kind]


def test_an_out_of_scope_newsletter_is_a_json_403_and_no_row(app, runner, two_lists):
    secret = make(app, runner, "own newsletter")
    response = app.test_client().get(EXPORT_ROUTES["other"], headers=bearer(secret))
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert b"other@example.com" not in response.data


def test_a_scoped_tokens_every_newsletter_export_holds_its_newsletters_only(app, runner, two_lists):
    scoped = make(app, runner, "own newsletter")
    every = make(app, runner, "every newsletter")
    client = app.test_client()
    rows = records(client.get(EXPORT_ROUTES["all"], headers=bearer(scoped)).data)
    assert [row["email"] for row in rows] == ["own@example.com"]
    rows = records(client.get(EXPORT_ROUTES["all"], headers=bearer(every)).data)
    assert sorted(row["email"] for row in rows) == ["other@example.com", "own@example.com"]


def test_an_expired_token_is_a_json_401_and_its_use_is_not_recorded(app, runner, two_lists):
    secret = make(app, runner, "expired")
    response = app.test_client().get(EXPORT_ROUTES["own"], headers=bearer(secret))
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert stored_tokens(app)[0].last_used_at is None


def test_a_token_lasts_90_days_unless_told_and_records_its_last_use(app, runner, two_lists):
    before = utcnow()
    _, secret = create_token(runner)
    _, short = create_token(runner, "short", "--days", "7")
    default, week = stored_tokens(app)
    assert timedelta(days=90) <= default.expires_at - before < timedelta(days=90, minutes=5)
    assert timedelta(days=7) <= week.expires_at - before < timedelta(days=7, minutes=5)
    assert default.last_used_at is None
    assert app.test_client().get(EXPORT_ROUTES["own"], headers=bearer(secret)).status_code == 200
    assert stored_tokens(app)[0].last_used_at >= before
    listed = runner.invoke(args=["tokens", "list"]).output.splitlines()
    assert f"expires {default.expires_at:%Y-%m-%d %H:%M}\tnewsletters all" in listed[0]
    assert "last used never" in listed[1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--newsletter", "nope"], "no newsletter with the slug 'nope'"),
        (["--days", "0"], "a token lives from 1 to 3660 days"),
        (["--days", "99999"], "a token lives from 1 to 3660 days"),
        (["--days", "soon"], "is not a valid integer"),
    ],
)
def test_a_token_that_cannot_be_made_is_refused(app, runner, options, message):
    result = runner.invoke(args=["tokens", "create", "--name", "x", *options])
    assert result.exit_code != 0
    assert message in result.output
    assert "nl_" not in result.output
    assert stored_tokens(app) == []


def test_an_owner_makes_a_scoped_token_on_the_page_and_sees_it_once(app, runner, two_lists):
    client = signed_in_client(app, runner)
    page = client.get("/admin/tokens")
    csrf = page_csrf_token(page.text)
    made = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf, "name": "ESP sync", "newsletters": [OWN], "days": "30"},
    )
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    [secret] = [word for word in shown_text(made.text).split() if word.startswith("nl_")]
    assert "nl_" not in client.get("/admin/tokens").text  # shown once
    anonymous = app.test_client()
    assert anonymous.get(EXPORT_ROUTES["own"], headers=bearer(secret)).status_code == 200
    assert anonymous.get(EXPORT_ROUTES["other"], headers=bearer(secret)).status_code == 403
    [token] = stored_tokens(app)
    revoked = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert anonymous.get(EXPORT_ROUTES["own"], headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "", "days": "30"},
        {"name": "x", "days": "0"},
        {"name": "x", "days": "30", "newsletters": ["nope"]},
    ],
)
def test_a_token_form_the_page_refuses_makes_nothing(app, runner, fields):
    client = signed_in_client(app, runner)
    csrf = page_csrf_token(client.get("/admin/tokens").text)
    response = client.post("/admin/tokens", data=fields | {"csrf_token": csrf})
    assert response.status_code == 422
    assert "The token was not made." in shown_text(response.text)
    assert stored_tokens(app) == []
