"""The databases a run uses: SQLite files, or fresh PostgreSQL databases dropped at the end.

Each backend also knows its native CSV dump (``sqlite3 -csv``, ``psql \\copy``) of the
same columns the product's export writes: the export's baseline; and its native CSV load
(``sqlite3 .import``, ``psql \\copy … FROM``) of a file into a bare table of text columns:
the import's baseline.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

ISO_SQLITE = "strftime('%Y-%m-%dT%H:%M:%SZ', {})"
ISO_POSTGRES = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def bare_table(columns: list[str]) -> str:
    """``CREATE TABLE bare``: one text column per CSV column, no key, no index."""
    names = ", ".join(f'"{column}" text' for column in columns)
    return f"CREATE TABLE bare ({names})"


def export_query(iso: str, slug: str, newsletter_id: int) -> str:
    """The product export's columns and order, in plain SQL."""
    times = ", ".join(
        iso.format(f"subscription.{column}")
        for column in ("created_at", "confirmed_at", "unsubscribed_at")
    )
    return (
        f"SELECT reader.email, status, '{slug}', {times}, source, source_url, signup_ip, "
        "reader.public_id "
        "FROM subscription JOIN reader ON reader.id = subscription.reader_id "
        f"WHERE newsletter_id = {int(newsletter_id)} ORDER BY subscription.id"
    )


class SqliteBackend:
    """SQLite files in the run's temporary folder."""

    name = "SQLite"
    baseline_name = "sqlite3 -csv"
    import_baseline_name = "sqlite3 .import"
    # In the backend's SQL: a random public id, and a text cell as a stored time.
    random_id = "lower(hex(randomblob(11)))"
    time_cell = "{}"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_database(self, label: str) -> str:
        """The URL of a new, empty database file."""
        return f"sqlite:///{self.folder / f'{label}.db'}"

    def export_baseline(self, url: str, slug: str, newsletter_id: int) -> list[str]:
        """The command that dumps the export's columns as CSV to standard output."""
        query = export_query(ISO_SQLITE, slug, newsletter_id)
        return [_tool("sqlite3"), "-csv", "-header", make_url(url).database, query]

    def import_baseline(self, url: str, path: Path) -> list[str]:
        """The command that loads the CSV at ``path`` (header skipped) into ``bare``."""
        return [_tool("sqlite3"), make_url(url).database, f".import --csv --skip 1 {path} bare"]

    def sql_command(self, url: str, sql: str) -> list[str]:
        """The backend's own client running ``sql``, on a connection set as the product's
        are (foreign keys checked, commits in WAL without waiting for the disk)."""
        setup = "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
        return [_tool("sqlite3"), "-bail", make_url(url).database, setup + sql]

    def run_sql(self, url: str, sql: str) -> None:
        """Run a statement with the backend's own client."""
        subprocess.run(self.sql_command(url, sql), check=True)

    def version(self) -> str:
        output = subprocess.run([_tool("sqlite3"), "--version"], capture_output=True, text=True)
        return output.stdout.split()[0]

    def drop_all(self) -> None:
        """Nothing to do: the files go with the temporary folder."""


class PostgresBackend:
    """Fresh databases on the server ``NEWSLETTER_BENCH_POSTGRES_URL`` points at."""

    name = "PostgreSQL"
    baseline_name = "psql \\copy … csv"
    import_baseline_name = "psql \\copy … FROM"
    random_id = "md5(random()::text)"
    time_cell = "({} || '+00')::timestamptz"

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new_database(self, label: str) -> str:
        """Create ``bench_<pid>_<label>`` and return its URL."""
        name = f"bench_{os.getpid()}_{label}"
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def export_baseline(self, url: str, slug: str, newsletter_id: int) -> list[str]:
        query = export_query(ISO_POSTGRES, slug, newsletter_id)
        copy = f"\\copy ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
        return [_tool("psql"), "-X", "-q", "-d", _libpq(url), "-c", copy]

    def import_baseline(self, url: str, path: Path) -> list[str]:
        """The command that loads the CSV at ``path`` (header skipped) into ``bare``."""
        copy = f"\\copy bare FROM '{path}' WITH (FORMAT csv, HEADER)"
        return [_tool("psql"), "-X", "-q", "-d", _libpq(url), "-c", copy]

    def sql_command(self, url: str, sql: str) -> list[str]:
        """The backend's own client running ``sql``, stopping at the first error."""
        command = [_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", _libpq(url)]
        return [*command, "-c", sql]

    def run_sql(self, url: str, sql: str) -> None:
        """Run a statement with the backend's own client."""
        subprocess.run(self.sql_command(url, sql), check=True)

    def version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())

    def drop_all(self) -> None:
        """Drop every database this run created."""
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()
        self.admin.dispose()


def each(folder: Path, postgres_url: str | None) -> Iterator[SqliteBackend | PostgresBackend]:
    """SQLite, then PostgreSQL if a URL is given; each one's databases dropped after its turn."""
    backends: list[SqliteBackend | PostgresBackend] = [SqliteBackend(folder)]
    if postgres_url:
        backends.append(PostgresBackend(postgres_url))
    for backend in backends:
        try:
            yield backend
        finally:
            backend.drop_all()


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as psql takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is needed for the export baseline (apt-get install {name})")
    return found
