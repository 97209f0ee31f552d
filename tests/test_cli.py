"""The ``newsletter`` command as an editor or operator types it."""

import pytest
from sqlalchemy import text

from newsletter import create_app
from newsletter.db import database
from newsletter.models import Newsletter
from tests.reader import count

SEEDED = "explaining-ukraine"


def newsletters(runner, *args: str):
    """Run ``newsletter newsletters ARGS``."""
    return runner.invoke(args=["newsletters", *args])


def listing(runner) -> list[list[str]]:
    """``newsletters list`` read back, in its order: its columns for each newsletter."""
    result = newsletters(runner, "list")
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.output.splitlines()]


def listed(runner) -> dict[str, tuple[str, str]]:
    """slug → (name, origins column)."""
    return {slug: (name, origins) for slug, name, origins, _, _ in listing(runner)}


def test_newsletters_are_listed_by_position_then_name_public_or_private(runner):
    created = newsletters(runner, "create", "--slug", "briefing", "--name", "Briefing", "--private")
    assert created.exit_code == 0, created.output
    assert newsletters(runner, "create", "--slug", "arts", "--name", "Arts").exit_code == 0
    assert [row[0] for row in listing(runner)] == ["arts", "briefing", SEEDED]
    assert [row[3:] for row in listing(runner)] == [
        ["public", "0"],
        ["private", "0"],
        ["public", "0"],
    ]

    moved = newsletters(runner, "update", "arts", "--position", "5", "--public")
    assert moved.exit_code == 0, moved.output
    assert newsletters(runner, "update", "briefing", "--public").exit_code == 0
    assert [row[0::3] for row in listing(runner)] == [
        ["briefing", "public"],
        [SEEDED, "public"],
        ["arts", "public"],
    ]
    assert_refused(newsletters(runner, "update", "arts", "--position", "-1"), "position")


def assert_refused(result, *words: str) -> None:
    """A clean refusal: non-zero exit, a message naming the problem, no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for word in words:
        assert word in result.output


def test_create_and_list(app, runner):
    result = newsletters(
        runner,
        "create",
        "--slug",
        "weekly-digest",
        "--name",
        "The Weekly Digest",
        "--description",
        "The week in five stories.",
        "--allow-origin",
        "https://News.Example.com:443",
        "--allow-origin",
        "http://localhost:8080/",
    )
    assert result.exit_code == 0, result.output
    assert "weekly-digest" in result.output
    rows = listed(runner)
    assert set(rows) == {SEEDED, "weekly-digest"}
    name, origins = rows["weekly-digest"]
    assert name == "The Weekly Digest"
    assert origins == "https://news.example.com, http://localhost:8080"
    assert rows[SEEDED][1] == "-"


def test_created_newsletter_has_a_signup_page(app, runner, client):
    result = newsletters(runner, "create", "--slug", "weekly-digest", "--name", "The Weekly Digest")
    assert result.exit_code == 0, result.output
    page = client.get("/newsletters/weekly-digest")
    assert page.status_code == 200
    assert "The Weekly Digest" in page.text


def test_update_changes_name_and_origins(app, runner):
    result = newsletters(
        runner,
        "update",
        SEEDED,
        "--name",
        "Explaining Ukraine",
        "--allow-origin",
        "https://kyivindependent.com",
        "--allow-origin",
        "https://partner.example:8443",
    )
    assert result.exit_code == 0, result.output
    name, origins = listed(runner)[SEEDED]
    assert name == "Explaining Ukraine"
    assert origins == "https://kyivindependent.com, https://partner.example:8443"

    # Origins given again replace the list; the name is left alone.
    result = newsletters(runner, "update", SEEDED, "--allow-origin", "https://other.example")
    assert result.exit_code == 0, result.output
    assert listed(runner)[SEEDED] == ("Explaining Ukraine", "https://other.example")


def test_update_no_origins_clears_them(app, runner):
    result = newsletters(runner, "update", SEEDED, "--allow-origin", "https://partner.example")
    assert result.exit_code == 0, result.output
    assert listed(runner)[SEEDED][1] == "https://partner.example"

    result = newsletters(runner, "update", SEEDED, "--no-origins")
    assert result.exit_code == 0, result.output
    assert listed(runner)[SEEDED][1] == "-"


def test_update_without_changes_keeps_everything(app, runner):
    newsletters(runner, "update", SEEDED, "--allow-origin", "https://partner.example")
    before = listed(runner)
    result = newsletters(runner, "update", SEEDED)
    assert result.exit_code == 0, result.output
    assert listed(runner) == before


def test_update_with_contradicting_origin_options_is_refused(app, runner):
    result = newsletters(
        runner, "update", SEEDED, "--allow-origin", "https://partner.example", "--no-origins"
    )
    assert_refused(result, "--no-origins")
    assert listed(runner)[SEEDED][1] == "-"


def test_update_of_unknown_newsletter_is_refused(app, runner):
    result = newsletters(runner, "update", "no-such-newsletter", "--name", "Anything")
    assert_refused(result, "no-such-newsletter")


def test_duplicate_slug_is_refused(app, runner):
    result = newsletters(runner, "create", "--slug", SEEDED, "--name", "Another one")
    assert_refused(result, SEEDED, "exists")
    assert count(app, Newsletter) == 1
    assert listed(runner)[SEEDED][0] == "Explaining Ukraine with Kate Tsurkan"


@pytest.mark.parametrize(
    "slug",
    [
        "Bad Slug!",
        "UPPER",
        "double--hyphen",
        "-leading",
        "trailing-",
        "under_score",
        "",
        "x" * 65,
        "snow☃man",
        "nul\x00byte",
    ],
)
def test_bad_slug_is_refused(app, runner, slug):
    result = newsletters(runner, "create", "--slug", slug, "--name", "A newsletter")
    assert_refused(result, "slug")
    assert count(app, Newsletter) == 1


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 201,
        "nul\x00byte",  # PostgreSQL refuses NUL in text: once a traceback there
        "\x1b[31mred",
        "caf\udce9",  # a Latin-1 byte on a UTF-8 command line (surrogateescape)
    ],
)
def test_bad_name_is_refused(app, runner, name):
    result = newsletters(runner, "create", "--slug", "weekly-digest", "--name", name)
    assert_refused(result, "name")
    assert count(app, Newsletter) == 1
    updated = newsletters(runner, "update", SEEDED, "--name", name)
    assert_refused(updated, "name")
    assert listed(runner)[SEEDED][0] == "Explaining Ukraine with Kate Tsurkan"


def test_control_characters_in_a_description_are_dropped(app, runner, client):
    description = "One.\x00\nTwo\x1b[0m.\udce9"
    assert newsletters(runner, "update", SEEDED, "--description", description).exit_code == 0
    assert client.get(f"/api/v1/newsletters/{SEEDED}").json["description"] == "One.\nTwo[0m."
    created = newsletters(
        runner, "create", "--slug", "digest", "--name", "Digest", "--description", description
    )
    assert created.exit_code == 0, created.output
    assert client.get("/api/v1/newsletters/digest").json["description"] == "One.\nTwo[0m."


@pytest.mark.parametrize(
    "origin",
    [
        "javascript:alert(1)",
        "https://x.example/path",
        "https://user@x.example",
        "https://user:secret@x.example",
        "https://x.example?query=1",
        "https://x.example#fragment",
        "https://*.example.com",
        "ftp://x.example",
        "x.example",
        "https://x.example 'unsafe-inline'",
        'https://x.example"',
        "https://x.example:99999",
    ],
)
def test_bad_origin_is_refused(app, runner, origin):
    """An origin ends up in CORS and CSP headers: anything but scheme://host[:port] is out."""
    created = newsletters(
        runner, "create", "--slug", "weekly-digest", "--name", "Digest", "--allow-origin", origin
    )
    assert_refused(created, "origin")
    assert count(app, Newsletter) == 1

    updated = newsletters(runner, "update", SEEDED, "--allow-origin", origin)
    assert_refused(updated, "origin")
    assert listed(runner)[SEEDED][1] == "-"


def test_one_bad_origin_refuses_the_whole_update(app, runner):
    result = newsletters(
        runner,
        "update",
        SEEDED,
        "--name",
        "Renamed",
        "--allow-origin",
        "https://good.example",
        "--allow-origin",
        "https://bad.example/path",
    )
    assert_refused(result, "https://bad.example/path")
    assert listed(runner)[SEEDED] == ("Explaining Ukraine with Kate Tsurkan", "-")


def test_db_upgrade_is_idempotent(app, runner):
    """Run twice on an up-to-date database: both succeed, and the data is untouched."""
    for _ in range(2):
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    assert set(listed(runner)) == {SEEDED}


def test_db_upgrade_creates_the_schema_on_an_empty_database(tmp_path):
    """An operator's first step on a fresh SQLite file: then the CLI can use it."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "SECRET_KEY": "test secret key",
        }
    )
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
    assert listed(runner) == {}
    result = newsletters(runner, "create", "--slug", "first", "--name", "First")
    assert result.exit_code == 0, result.output
    assert set(listed(runner)) == {"first"}
    database(app).engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL never waits
@pytest.mark.parametrize(
    "command",
    [
        ["newsletters", "list"],
        ["admins", "list"],
        ["tokens", "list"],
        ["audit", "list"],
        # (An export is no longer one: it writes its audit entry before a row leaves.)
    ],
)
def test_a_command_that_only_looks_is_not_held_up_by_a_writer(app, runner, command):
    """Read-only commands take no write lock, so a long write elsewhere (an import, a
    purge) does not make them wait for SQLite's busy timeout and fail "database is locked"."""
    with database(app).writer.connect() as connection, connection.begin():
        connection.execute(text("UPDATE newsletter SET name = name"))  # holds the write lock
        result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
