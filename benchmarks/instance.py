"""A product instance prepared the way an operator does it, plus bulk data for the runs.

The schema and the newsletters are made with the ``newsletter`` command (``db upgrade``,
``newsletters create``, ``tokens create``); the many rows a measurement needs are written
with bulk Core inserts, in chunks, which is what the product's own code would never do.
"""

import os
import secrets
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select

from benchmarks.servers import BIN
from benchmarks.servers import ROOT
from newsletter import create_app
from newsletter.db.engine import make_engine
from newsletter.db.types import utcnow
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus

PUBLIC_URL = "https://news.example.org"
CHUNK = 10_000
SQLITE_CACHE_KIB = 256 * 1024
# The existing list: mostly confirmed readers, some pending, a few who left.
STATUS_CYCLE = [SubscriptionStatus.CONFIRMED] * 7 + [SubscriptionStatus.PENDING] * 2
STATUS_CYCLE += [SubscriptionStatus.UNSUBSCRIBED]


def outside_environment() -> dict[str, str]:
    """This process's environment for the product's commands and servers, without its
    settings (each run gives its own) and without ``PYTHONDONTWRITEBYTECODE``: an installed
    product runs from compiled modules (pip compiles them at install), and with that
    variable set, as on this machine, every process the bench starts compiled ~130 modules
    again, most of a ``worker --once`` or an ``export``'s start-up."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NEWSLETTER_") and key != "PYTHONDONTWRITEBYTECODE"
    }


class Instance:
    """An instance folder, a database and a known secret, and the environment for both."""

    def __init__(self, folder: Path, database_url: str, mail_url: str | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.mail_url = mail_url
        # Explicit, so that the harness can make confirm links the server accepts.
        self.secret_key = "bench-" + secrets.token_hex(24)
        self._engine: Engine | None = None

    def environment(self) -> dict[str, str]:
        """The process environment of the product's commands and servers."""
        keep = outside_environment()
        settings = {
            "NEWSLETTER_INSTANCE_PATH": str(self.folder),
            "NEWSLETTER_DATABASE_URL": self.database_url,
            "NEWSLETTER_SECRET_KEY": self.secret_key,
            "NEWSLETTER_PUBLIC_URL": PUBLIC_URL,
            "NEWSLETTER_RATELIMIT_ENABLED": "false",
        }
        if self.mail_url:
            settings["NEWSLETTER_MAIL_URL"] = self.mail_url
        return keep | settings

    def command(self, *arguments: str) -> str:
        """Run ``newsletter ARGUMENTS`` for this instance; its standard output."""
        result = subprocess.run(
            [str(BIN / "newsletter"), *arguments],
            env=self.environment(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"newsletter {' '.join(arguments)} failed:\n{result.stderr}")
        return result.stdout

    def prepare(self, slug: str) -> int:
        """Migrate and create the newsletter ``slug``; returns its id."""
        self.command("db", "upgrade")
        self.command("newsletters", "create", "--slug", slug, "--name", f"Benchmark {slug}")
        return self.newsletter_id(slug)

    def create_token(self) -> str:
        """An API token for the HTTP export, made with ``newsletter tokens create``."""
        output = self.command("tokens", "create", "--name", "benchmark export")
        return output.strip().splitlines()[-1].strip()

    @property
    def engine(self) -> Engine:
        """An engine configured as the product's (WAL and busy timeout on SQLite)."""
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def newsletter_id(self, slug: str) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(select(Newsletter.id).where(Newsletter.slug == slug))

    def app(self) -> Flask:
        """The product's app on this instance, for work in an app context."""
        return create_app(
            {
                "INSTANCE_PATH": str(self.folder),
                "DATABASE_URL": self.database_url,
                "SECRET_KEY": self.secret_key,
                "MAIL_URL": self.mail_url,
                "PUBLIC_URL": PUBLIC_URL,
                "RATELIMIT_ENABLED": False,
            }
        )

    def insert_subscriptions(
        self, newsletter_id: int, count: int, prefix: str, *, pending: bool = False
    ) -> list[str]:
        """Bulk-insert ``count`` subscriptions, each of a new reader; returns their public ids.

        ``pending`` makes them all pending in round 1 (for confirm links); otherwise they
        are a realistic mix of confirmed, pending and unsubscribed readers.
        """
        public_ids: list[str] = []
        for start in range(0, count, CHUNK):
            rows = list(_rows(newsletter_id, start, min(CHUNK, count - start), prefix, pending))
            emails = [row.pop("email") for row in rows]
            self._write(Reader.__table__, [_reader_row(email) for email in emails])
            reader_ids = self._reader_ids([email.lower() for email in emails])
            for row, email in zip(rows, emails, strict=True):
                row["reader_id"] = reader_ids[email.lower()]
            self._write(Subscription.__table__, rows)
            public_ids.extend(row["public_id"] for row in rows)
        return public_ids

    def _write(self, table: Table, rows: list[dict]) -> None:
        """Rows into the table: COPY on PostgreSQL, one multi-row INSERT on SQLite."""
        if self.engine.dialect.name == "postgresql":
            self._copy(table.name, rows)
            return
        with self.engine.begin() as connection:
            # A large page cache: the random public ids make index inserts scattered.
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            connection.execute(insert(table), rows)

    def _reader_ids(self, emails: list[str]) -> dict[str, int]:
        """The ids of the readers of these address keys."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(Reader.email_key, Reader.id).where(Reader.email_key.in_(emails))
            )
            return {email_key: reader_id for email_key, reader_id in found}

    def _copy(self, table_name: str, rows: list[dict]) -> None:
        """PostgreSQL's COPY, many times faster than INSERTs for a million rows."""
        columns = list(rows[0])
        statement = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"
        connection = self.engine.raw_connection()
        try:
            with connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([_plain(row[column]) for column in columns])
            connection.commit()
        finally:
            connection.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _plain(value: object) -> object:
    """A value as COPY takes it: enums by their stored value."""
    return value.value if isinstance(value, SubscriptionStatus) else value


def _reader_row(email: str) -> dict:
    """The reader of an address."""
    return {
        "public_id": secrets.token_urlsafe(16),
        "email": email,
        "email_key": email.lower(),
        "created_at": utcnow(),
    }


def _rows(newsletter_id: int, start: int, count: int, prefix: str, pending: bool) -> Iterator[dict]:
    """Subscription rows as a year of signups through the article form would leave them."""
    now = utcnow()
    for number in range(start, start + count):
        status = SubscriptionStatus.PENDING if pending else STATUS_CYCLE[number % 10]
        created = now - timedelta(seconds=(start + count - number) * 30)
        confirmed = status is not SubscriptionStatus.PENDING
        yield {
            "public_id": secrets.token_urlsafe(16),
            "newsletter_id": newsletter_id,
            "email": f"{prefix}-{number}@example.net",  # the reader's, see insert_subscriptions
            "status": status,
            "created_at": created,
            "signup_at": created,
            "signup_ip": f"198.51.100.{number % 250 + 1}",
            "signup_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "source": "web",
            "source_url": "https://news.example.org/2025/ukraine-explained",
            "confirmation_round": 1,
            "confirmation_sent_at": created,
            "confirmed_at": created + timedelta(minutes=5) if confirmed else None,
            "confirmed_ip": f"198.51.100.{number % 250 + 1}" if confirmed else None,
            "confirmed_user_agent": None,
            "unsubscribed_at": (
                created + timedelta(days=30) if status is SubscriptionStatus.UNSUBSCRIBED else None
            ),
        }
