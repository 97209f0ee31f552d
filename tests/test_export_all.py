"""The all-newsletters export: every subscription, one row each, with its newsletter.

The same columns, filter, access and neutralisation as one newsletter's export
(``tests/test_export.py``), from ``GET /admin/subscribers.csv`` and ``newsletter export
--all``.
"""

import pytest

from tests.admin_steps import bearer
from tests.admin_steps import create_token
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.test_export import HEADER
from tests.test_export import parse
from tests.test_export import records
from tests.test_export import signed_up

EXPORT_ALL = "/admin/subscribers.csv"
OTHER = "other"


@pytest.fixture
def two_newsletters(app, runner, mailbox):
    """One reader in both newsletters (confirmed in the first), another in the second."""
    created = runner.invoke(args=["newsletters", "create", "--slug", OTHER, "--name", "Other"])
    assert created.exit_code == 0, created.output
    signed_up(app, "reader@example.com", "192.0.2.1")
    signed_up(app, "reader@example.com", "192.0.2.1", slug=OTHER)
    signed_up(app, "=1+1@example.com", "192.0.2.2", slug=OTHER)


def exported_all(client, query: str = "", **headers) -> bytes:
    response = client.get(EXPORT_ALL + query, headers=headers)
    assert response.status_code == 200, response.text
    return response.data


def test_every_subscription_has_a_row_with_its_newsletter(app, runner, two_newsletters):
    client = signed_in_client(app, runner)
    body = exported_all(client)
    header, *_ = parse(body)
    assert header == HEADER.split(",")
    rows = records(body)
    assert [(row["newsletter"], row["email"]) for row in rows] == [
        (SLUG, "reader@example.com"),
        (OTHER, "reader@example.com"),
        (OTHER, "'=1+1@example.com"),  # neutralised, as in one newsletter's export
    ]
    assert rows[0]["reader_id"] == rows[1]["reader_id"] != rows[2]["reader_id"]
    # Each row as one newsletter's export writes it.
    for slug in (SLUG, OTHER):
        single = records(client.get(f"/admin/newsletters/{slug}/subscribers.csv").data)
        assert single == [row for row in rows if row["newsletter"] == slug]


def test_the_status_filter(app, runner, mailbox, two_newsletters):
    client = signed_in_client(app, runner)
    assert records(exported_all(client, "?status=confirmed")) == []
    pending = records(exported_all(client, "?status=pending"))
    assert len(pending) == 3
    assert client.get(EXPORT_ALL + "?status=erased").status_code == 400


def test_the_download_is_named_and_never_cached(app, runner, two_newsletters):
    response = signed_in_client(app, runner).get(EXPORT_ALL + "?status=pending")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="all-newsletters-pending-' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"


def test_an_api_token_downloads_the_same_file_and_nobody_else_does(app, runner, two_newsletters):
    _, secret = create_token(runner)
    by_session = exported_all(signed_in_client(app, runner))
    assert exported_all(app.test_client(), **bearer(secret)) == by_session
    assert app.test_client().get(EXPORT_ALL, headers=bearer("not-a-token")).status_code == 401
    anonymous = app.test_client().get(EXPORT_ALL)
    assert anonymous.status_code in (302, 401)
    assert b"reader@example.com" not in anonymous.data


def test_the_dashboard_links_the_export(app, runner):
    page = signed_in_client(app, runner).get("/admin/")
    assert 'href="/admin/subscribers.csv"' in page.text
    assert 'href="/admin/subscribers.csv?status=confirmed"' in page.text


@pytest.mark.parametrize("status", [None, "pending"])
def test_cli_export_all_writes_the_same_bytes_as_the_download(
    app, runner, two_newsletters, tmp_path, status
):
    query = f"?status={status}" if status else ""
    options = ["--status", status] if status else []
    path = tmp_path / "all.csv"
    result = runner.invoke(args=["export", "--all", *options, "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == exported_all(signed_in_client(app, runner), query)


@pytest.mark.parametrize("arguments", [[], ["--all", "--newsletter", SLUG]])
def test_cli_export_wants_one_newsletter_or_all(app, runner, arguments):
    result = runner.invoke(args=["export", *arguments])
    assert result.exit_code == 2
    assert "give either --newsletter SLUG or --all" in result.output
