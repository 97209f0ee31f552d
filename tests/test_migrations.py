"""Migrations keep the data: a database at 0005 with subscriptions in every state, upgraded,
exports what it exported before, byte for byte, with the new columns at the end.

The rows and the exports were made by the code of revision 0005 (``tests/data``).
"""

import json
import os
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import text

from newsletter import create_app
from newsletter import migrations
from newsletter.db import database
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.conftest import missing_service

DATA = Path(__file__).parent / "data"
GOLDEN = json.loads((DATA / "at_0005.json").read_text(encoding="utf-8"))
BEFORE_READERS = "0005"
BEFORE_MULTI_SIGNUPS = "0007"
BEFORE_ROLES = "0010"
BEFORE_TEXTS = "0016"
BEFORE_IMPORT_JOBS = "0017"
# One person's address was spelt two ways in two newsletters; a reader has one spelling,
# the latest. The export of the newsletter with the older spelling shows the newer one.
RESPELT = {"explaining-ukraine": (b"Olena.K@example.com,", b"olena.k@example.com,")}
MOVED_TO_READER = ("email", "email_key")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path: Path) -> str:
    """The URL of an empty database of this test's own (no schema at all)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsletter.db'}"
        return
    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        missing_service(f"{POSTGRES_URL_VARIABLE} is not set (PostgreSQL tests need it)")
    name = f"newsletter_migration_{uuid.uuid4().hex}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _stored(value: object, column) -> object:
    """A golden value as the column takes it: times are UTC."""
    if value is not None and isinstance(column.type, DateTime):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _plain(value: object) -> object:
    """A value read back, in the golden file's form (times as naive UTC ISO text)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    return value


def at_0005_with_golden_rows(url: str) -> None:
    """The database at revision 0005, holding the golden rows (inserted with Core)."""
    migrations.upgrade(url, BEFORE_READERS)
    engine = create_engine(url)
    tables = MetaData()
    with engine.begin() as connection:
        tables.reflect(bind=connection)
        for name, rows in GOLDEN.items():
            table = tables.tables[name]
            connection.execute(
                table.insert(),
                [{key: _stored(value, table.c[key]) for key, value in row.items()} for row in rows],
            )
    engine.dispose()


def table_rows(url: str, name: str) -> list[dict]:
    """Every row of a table, in primary key order, in the golden file's form."""
    engine = create_engine(url)
    tables = MetaData()
    with engine.connect() as connection:
        tables.reflect(bind=connection, only=[name])
        table = tables.tables[name]
        rows = [
            {key: _plain(value) for key, value in row._mapping.items()}
            for row in connection.execute(select(table).order_by(*table.primary_key.columns))
        ]
    engine.dispose()
    return rows


def table_names(url: str) -> list[str]:
    """The tables the database has."""
    engine = create_engine(url)
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
    engine.dispose()
    return names


def export(url: str, slug: str, tmp_path: Path) -> bytes:
    """What ``newsletter export`` writes for the newsletter."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": tmp_path}
    )
    output = tmp_path / f"{slug}.csv"
    result = app.test_cli_runner().invoke(args=["export", "--newsletter", slug, "-o", str(output)])
    database(app).engine.dispose()
    assert result.exit_code == 0, result.output
    return output.read_bytes()


def golden_export(slug: str) -> bytes:
    """The export of 0005, with the one spelling a reader could not keep."""
    golden = (DATA / f"export_at_0005_{slug}.csv").read_bytes()
    if slug in RESPELT:
        older, newer = RESPELT[slug]
        assert golden.count(older) == 1
        golden = golden.replace(older, newer)
    return golden


def split_last_column(csv: bytes) -> tuple[bytes, list[bytes]]:
    """The CSV without its last column, and that column's cells (header first)."""
    lines = csv.split(b"\r\n")
    assert lines[-1] == b""
    cut = [line.rsplit(b",", 1) for line in lines[:-1]]
    return b"\r\n".join(rest for rest, _ in cut) + b"\r\n", [last for _, last in cut]


def as_cell(text: str) -> bytes:
    """The text as the export writes it: a formula's first character behind an apostrophe."""
    return (f"'{text}" if text[:1] in "=+-@" else text).encode()


def reader_ids_by_address(url: str) -> dict[bytes, bytes]:
    """Each reader's public id, by the address, as the export's cells hold them."""
    return {as_cell(row["email"]): as_cell(row["public_id"]) for row in table_rows(url, "reader")}


def check_export(url: str, tmp_path: Path) -> None:
    """Every newsletter's export is the golden one, plus the reader's id and an empty
    complaint time at the end."""
    readers = reader_ids_by_address(url)
    for newsletter in GOLDEN["newsletter"]:
        exported = export(url, newsletter["slug"], tmp_path)
        without_complaints, complaints = split_last_column(exported)
        assert complaints == [b"complained_at"] + [b""] * (len(complaints) - 1)
        unchanged, reader_ids = split_last_column(without_complaints)
        assert unchanged == golden_export(newsletter["slug"])
        assert reader_ids[0] == b"reader_id"
        addresses = [line.split(b",", 1)[0] for line in unchanged.split(b"\r\n")[1:-1]]
        assert reader_ids[1:] == [readers[address] for address in addresses]


def without_language(rows: list[dict]) -> list[dict]:
    """The rows without their ``language`` (0010), which must be English for rows from
    before languages."""
    assert [row.pop("language") for row in rows] == ["en"] * len(rows)
    return rows


def without_bounces(rows: list[dict]) -> list[dict]:
    """The subscriptions without their complaint flag and soft-bounce count (0013), which
    rows from before bounces were recorded have unset."""
    assert [(row.pop("complained_at"), row.pop("soft_bounces")) for row in rows] == [
        (None, 0)
    ] * len(rows)
    return rows


def check_signup_requests_name_their_newsletter(url: str) -> None:
    """The waiting signups of 0005 name their newsletter in signup_request_newsletter."""
    assert without_language(table_rows(url, "signup_request")) == [
        {key: value for key, value in row.items() if key != "newsletter_id"}
        for row in GOLDEN["signup_request"]
    ]
    assert table_rows(url, "signup_request_newsletter") == [
        {"signup_request_id": row["id"], "newsletter_id": row["newsletter_id"]}
        for row in GOLDEN["signup_request"]
    ]


def test_upgrade_keeps_every_subscription_and_its_export(empty_database, tmp_path):
    at_0005_with_golden_rows(empty_database)
    migrations.upgrade(empty_database)

    check_export(empty_database, tmp_path)
    readers = table_rows(empty_database, "reader")
    golden_keys = {row["email_key"] for row in GOLDEN["subscription"]}
    assert sorted(reader["email_key"] for reader in readers) == sorted(golden_keys)
    olena = next(reader for reader in readers if reader["email_key"] == "olena.k@example.com")
    first, latest = [
        row for row in GOLDEN["subscription"] if row["email_key"] == olena["email_key"]
    ]
    assert (olena["email"], olena["created_at"]) == (latest["email"], first["created_at"])

    key_of_reader = {reader["id"]: reader["email_key"] for reader in readers}
    subscriptions = without_bounces(without_language(table_rows(empty_database, "subscription")))
    assert [key_of_reader[row.pop("reader_id")] for row in subscriptions] == [
        row["email_key"] for row in GOLDEN["subscription"]
    ]
    assert subscriptions == [
        {key: value for key, value in row.items() if key not in MOVED_TO_READER}
        for row in GOLDEN["subscription"]
    ]
    for name in ("subscription_event", "outbox_message", "erasure"):
        assert table_rows(empty_database, name) == GOLDEN[name], name
    check_signup_requests_name_their_newsletter(empty_database)
    newsletters = without_language(table_rows(empty_database, "newsletter"))
    assert [(row.pop("public"), row.pop("position")) for row in newsletters] == [(True, 0)] * 2
    # 0011: no brand (the service's colour, no logo) for every newsletter from before.
    brands = [(row.pop("accent_color"), row.pop("logo_url")) for row in newsletters]
    assert brands == [("", "")] * 2
    assert newsletters == GOLDEN["newsletter"]


def test_downgrade_then_upgrade_keeps_the_data(empty_database, tmp_path):
    at_0005_with_golden_rows(empty_database)
    migrations.upgrade(empty_database)
    migrations.downgrade(empty_database, BEFORE_READERS)

    respelt = [
        {**row, "email": "olena.k@example.com"}
        if row["email_key"] == "olena.k@example.com"
        else row
        for row in GOLDEN["subscription"]
    ]
    assert table_rows(empty_database, "subscription") == respelt
    for name in ("newsletter", "subscription_event", "outbox_message", "erasure"):
        assert table_rows(empty_database, name) == GOLDEN[name], name
    assert table_rows(empty_database, "signup_request") == GOLDEN["signup_request"]

    migrations.upgrade(empty_database)
    check_export(empty_database, tmp_path)
    assert len(table_rows(empty_database, "subscription_event")) == len(
        GOLDEN["subscription_event"]
    )


def test_downgrade_splits_a_signup_to_several_newsletters(empty_database):
    """A waiting signup to both newsletters becomes one signup per newsletter again."""
    at_0005_with_golden_rows(empty_database)
    migrations.upgrade(empty_database)
    [waiting] = table_rows(empty_database, "signup_request")
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # The golden rows went in with their ids; a real database's sequence is current.
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('signup_request', 'id'), :id)"),
                {"id": waiting["id"]},
            )
        connection.execute(
            text("INSERT INTO signup_request_newsletter VALUES (:request, :newsletter)"),
            {
                "request": waiting["id"],
                "newsletter": 3 - GOLDEN["signup_request"][0]["newsletter_id"],
            },
        )
    engine.dispose()

    migrations.downgrade(empty_database, BEFORE_MULTI_SIGNUPS)

    original, copy = table_rows(empty_database, "signup_request")
    assert (original["id"], original["newsletter_id"], copy["newsletter_id"]) == (
        waiting["id"],
        1,
        2,
    )
    assert copy == {**original, "id": copy["id"], "newsletter_id": 2}


def test_editors_from_before_roles_become_owners_and_tokens_get_an_expiry(empty_database):
    """0015: every editor could do everything, so each is an owner; every token keeps every
    newsletter and expires 90 days after the upgrade. Downgrading keeps both rows."""
    migrations.upgrade(empty_database, BEFORE_ROLES)
    engine = create_engine(empty_database)
    created = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO editor (email, password_hash, created_at, session_version) "
                "VALUES ('kate@example.com', 'scrypt:x', :at, 1)"
            ),
            {"at": created},
        )
        connection.execute(
            text(
                "INSERT INTO api_token (name, token_hash, created_at) "
                "VALUES ('nightly', :digest, :at)"
            ),
            {"digest": "a" * 64, "at": created},
        )
    engine.dispose()
    before = datetime.now(UTC)
    migrations.upgrade(empty_database)
    [editor] = table_rows(empty_database, "editor")
    assert editor["role"] == "owner"
    [token] = table_rows(empty_database, "api_token")
    expires = datetime.fromisoformat(token["expires_at"]).replace(tzinfo=UTC)  # naive UTC
    assert timedelta(days=90) <= expires - before < timedelta(days=90, minutes=5)
    assert table_rows(empty_database, "editor_newsletter") == []
    assert table_rows(empty_database, "api_token_newsletter") == []
    assert table_rows(empty_database, "audit_entry") == []

    migrations.downgrade(empty_database, BEFORE_ROLES)
    [editor] = table_rows(empty_database, "editor")
    assert "role" not in editor and editor["email"] == "kate@example.com"
    [token] = table_rows(empty_database, "api_token")
    assert "expires_at" not in token and token["name"] == "nightly"


BEFORE_TEXTS = "0016"
BEFORE_IMPORT_JOBS = "0017"
