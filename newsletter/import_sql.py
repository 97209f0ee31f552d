"""The statements of an import batch, run as the database driver takes them.

A batch's rows go to the driver as plain tuples (``exec_driver_sql``; one
``executemany`` per statement), not through SQLAlchemy's per-row parameter processing,
which was two fifths of an import's CPU, and rows come back as the driver's tuples. What
that processing did is done here once: times are bound as ``UTCDateTime`` binds them
(naive UTC text in SQLAlchemy's SQLite ``DATETIME`` form, :func:`sqlite_time`; aware
datetimes on PostgreSQL), statuses and event kinds as their values, and the columns a
Core ``INSERT`` fills from the model's defaults (``public_id``, ``confirmation_round``,
``soft_bounces``) are given here. The statements run on the import's connection, inside
the batch's transaction.

What differs by backend is the parameter mark (``?`` or ``%s``), how a list is bound
(SQLite's ``json_each`` over a JSON array, PostgreSQL's ``= ANY`` over an array: one
parameter, whatever the batch's size), how rows are inserted (``executemany`` on
SQLite, in-process; ``COPY`` on PostgreSQL, where a statement per row is a round of the
server's work each) and the row lock (``FOR UPDATE`` on PostgreSQL; SQLite's writer holds
the whole file).
"""

import json
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

READER_COLUMNS = ("public_id", "email", "email_key", "created_at")
SUBSCRIPTION_COLUMNS = (
    "public_id",
    "newsletter_id",
    "reader_id",
    "status",
    "created_at",
    "signup_at",
    "signup_ip",
    "source",
    "source_url",
    "language",
    "confirmed_at",
    "confirmed_ip",
    "unsubscribed_at",
    "confirmation_round",
    "soft_bounces",
)
# Pages SQLite's log may hold before a commit copies it into the database file, during an
# import (its default is 1,000): most pages an import writes are its tables' random
# public-id index pages, written again by batch after batch; copied once per ten times as
# many, a million-row import took a fifth less time.
IMPORT_AUTOCHECKPOINT_PAGES = 10_000
# A temporary table a batch's rows are staged in, by the table's name.
STAGING_PREFIX = "import_staged_"
# "2024-01-02 15:04:05.000123": an aware time's ISO form without its "+00:00".
NAIVE_LENGTH = 26
EVENT_COLUMNS = ("subscription_id", "kind", "occurred_at", "ip", "user_agent", "detail")


class BatchSql:
    """The batch's statements on one connection, in the backend's SQL."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        dialect = connection.dialect
        self.postgres = dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        self.member = "= ANY(%s)" if self.postgres else "IN (SELECT value FROM json_each(?))"
        self.lock = " FOR UPDATE" if self.postgres else ""
        # psycopg binds an aware datetime as it is (a timestamptz).
        self.time: Callable[[datetime | None], Any] = (
            (lambda value: value) if self.postgres else sqlite_time
        )

    def listed(self, values: Collection) -> Any:
        """A list of values bound as one parameter (see :attr:`member`)."""
        return list(values) if self.postgres else json.dumps(list(values))

    def rows(self, sql: str, parameters: tuple) -> Sequence[tuple]:
        """The rows a query returns, as the driver's tuples."""
        result = self.connection.exec_driver_sql(sql, parameters)
        try:
            return result.cursor.fetchall()
        finally:
            result.close()

    def many(self, sql: str, parameters: list[tuple]) -> None:
        """Run a statement once per tuple of parameters."""
        if parameters:
            self.connection.exec_driver_sql(sql, parameters)

    def append(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Insert the rows (no key of theirs can be taken): one ``executemany`` on SQLite,
        one ``COPY`` on PostgreSQL (a statement per row was nine tenths of an import there)."""
        if not rows:
            return
        if not self.postgres:
            self.connection.exec_driver_sql(_insert_values(table, columns), rows)
            return
        names = ", ".join(columns)
        psycopg: Any = self.connection.connection.driver_connection
        cursor = psycopg.cursor()
        with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert_new(
        self, table: str, columns: Sequence[str], rows: list[tuple], key: str, returning: str
    ) -> Sequence[tuple]:
        """Insert the rows whose unique ``key`` is not taken (by a row here, or by a
        concurrent writer's); the ``returning`` columns of those inserted."""
        if not rows:
            return []
        if self.postgres:
            return self._insert_staged(table, columns, rows, key, returning)
        # SQLite's writer holds the whole file from its BEGIN IMMEDIATE: the rows past the
        # table's largest id before the insert are the ones it made. (An executemany was
        # quicker here than staging the rows as on PostgreSQL: SQLite runs in-process.)
        latest = self.rows(f"SELECT coalesce(max(id), 0) FROM {table}", ())[0][0]  # noqa: S608 # nosec B608
        self.connection.exec_driver_sql(_insert_values(table, columns, key), rows)
        return self.rows(f"SELECT {returning} FROM {table} WHERE id > ?", (latest,))  # noqa: S608 # nosec B608

    def _insert_staged(
        self, table: str, columns: Sequence[str], rows: list[tuple], key: str, returning: str
    ) -> Sequence[tuple]:
        """PostgreSQL's :meth:`insert_new`: the rows are copied into a temporary table of
        the same columns, and from it into the table with one ``INSERT … SELECT … ON
        CONFLICT DO NOTHING RETURNING``: the server's own loop instead of a statement per
        row, and the ids of the rows made without another query."""
        staged = f"{STAGING_PREFIX}{table}"
        names = ", ".join(columns)
        self.connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} "  # noqa: S608 # nosec B608
            f"AS SELECT {names} FROM {table} WITH NO DATA"
        )
        self.append(staged, columns, rows)
        made = self.rows(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged} "  # noqa: S608 # nosec B608
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {returning}",
            (),
        )
        # Emptied for the next batch, which a dry run runs in the same transaction.
        self.connection.exec_driver_sql(f"TRUNCATE {staged}")
        return made

    def update(self, table: str, columns: Sequence[str]) -> str:
        """``UPDATE table SET columns WHERE id = …``: parameters are the columns', then the id."""
        assignments = ", ".join(f"{column} = {self.mark}" for column in columns)
        return f"UPDATE {table} SET {assignments} WHERE id = {self.mark}"  # noqa: S608 # nosec B608

    def reader_ids(self, keys: Collection[str]) -> dict[str, int]:
        """The ids of the readers of these address keys (those that exist)."""
        sql = f"SELECT email_key, id FROM reader WHERE email_key {self.member}"  # noqa: S608 # nosec B608
        return dict(self.rows(sql, (self.listed(keys),)))

    def subscriptions(self, newsletter_id: int, reader_ids: Collection[int]) -> Sequence[tuple]:
        """``(reader_id, id, status)`` of these readers' subscriptions to the newsletter,
        locked until the commit."""
        sql = (
            "SELECT reader_id, id, status FROM subscription "  # noqa: S608 # nosec B608
            f"WHERE newsletter_id = {self.mark} AND reader_id {self.member}{self.lock}"
        )
        return self.rows(sql, (newsletter_id, self.listed(reader_ids)))


def _insert_values(table: str, columns: Sequence[str], key: str = "") -> str:
    """SQLite's ``INSERT … VALUES (?, …)`` of the columns, skipping a row whose unique
    ``key`` (if named) is taken. Names are this module's and its callers' constants;
    every value is bound."""
    marks = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 # nosec B608
    return f"{sql} ON CONFLICT ({key}) DO NOTHING" if key else sql


@contextmanager
def fewer_checkpoints(connection: Connection) -> Iterator[None]:
    """On SQLite, the connection copies its log into the database file at
    ``IMPORT_AUTOCHECKPOINT_PAGES`` instead of its default while this lasts (the setting
    is the connection's; set back before it goes back to the pool). PostgreSQL: nothing."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection, outside any transaction: a pragma of the connection's.
    sqlite: Any = connection.connection.driver_connection
    (before,) = sqlite.execute("PRAGMA wal_autocheckpoint").fetchone()
    sqlite.execute(f"PRAGMA wal_autocheckpoint={IMPORT_AUTOCHECKPOINT_PAGES}")
    try:
        yield
    finally:
        sqlite.execute(f"PRAGMA wal_autocheckpoint={int(before)}")


def sqlite_time(value: datetime | None) -> str | None:
    """A time as SQLAlchemy's SQLite ``DATETIME`` stores a ``UTCDateTime``: naive UTC,
    ``2024-01-02 15:04:05.000123`` (its ``storage_format``), made by one C call instead of
    the type's bind processors (a tenth of an import's CPU)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:NAIVE_LENGTH]
