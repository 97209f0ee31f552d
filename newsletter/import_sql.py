"""The statements of an import batch, run as the database driver takes them.

A batch's rows go to the driver as plain tuples (``exec_driver_sql``; one
``executemany`` per statement), not through SQLAlchemy's per-row parameter processing,
which was two fifths of an import's CPU. What that processing did is done here once:
times are bound by ``UTCDateTime``'s own bind processor for the backend (naive UTC text
on SQLite, aware UTC on PostgreSQL), statuses and event kinds as their values, and the
columns a Core ``INSERT`` fills from the model's defaults (``public_id``,
``confirmation_round``, ``soft_bounces``) are given here. The statements run on the
session's connection, inside the batch's transaction.

What differs by backend is the parameter mark (``?`` or ``%s``), how a list is bound
(SQLite's ``json_each`` over a JSON array, PostgreSQL's ``= ANY`` over an array: one
parameter, whatever the batch's size) and the row lock (``FOR UPDATE`` on PostgreSQL;
SQLite's writer holds the whole file).
"""

import json
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from newsletter.db.types import UTCDateTime

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
        # The dialect's own form of the type (SQLite's DATETIME writes six-digit
        # microseconds; the generic one would leave them to sqlite3's adapter).
        processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self.time: Callable[[datetime | None], Any] = processor or (lambda value: value)

    def listed(self, values: Collection) -> Any:
        """A list of values bound as one parameter (see :attr:`member`)."""
        return list(values) if self.postgres else json.dumps(list(values))

    def rows(self, sql: str, parameters: tuple) -> Sequence[tuple]:
        """The rows a query returns."""
        return self.connection.exec_driver_sql(sql, parameters).all()

    def many(self, sql: str, parameters: list[tuple]) -> None:
        """Run a statement once per tuple of parameters."""
        if parameters:
            self.connection.exec_driver_sql(sql, parameters)

    def insert(self, table: str, columns: Sequence[str], conflict: str = "") -> str:
        """``INSERT INTO table (columns) VALUES (…)``, ``ON CONFLICT (conflict) DO NOTHING``
        if a unique key is named."""
        marks = ", ".join([self.mark] * len(columns))
        # Names are this module's and its callers' constants; every value is bound.
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 # nosec B608
        return f"{sql} ON CONFLICT ({conflict}) DO NOTHING" if conflict else sql

    def update(self, table: str, columns: Sequence[str]) -> str:
        """``UPDATE table SET columns WHERE id = …``: parameters are the columns', then the id."""
        assignments = ", ".join(f"{column} = {self.mark}" for column in columns)
        return f"UPDATE {table} SET {assignments} WHERE id = {self.mark}"  # noqa: S608 # nosec B608

    def reader_ids(self, keys: Collection[str]) -> dict[str, int]:
        """The ids of the readers of these address keys (those that exist)."""
        sql = f"SELECT email_key, id FROM reader WHERE email_key {self.member}"  # noqa: S608 # nosec B608
        return dict(self.rows(sql, (self.listed(keys),)))

    def subscriptions(
        self, newsletter_id: int, reader_ids: Collection[int], *, lock: bool
    ) -> Sequence[tuple]:
        """``(reader_id, id, status, public_id)`` of these readers' subscriptions to the
        newsletter, locked until the commit if ``lock``."""
        sql = (
            "SELECT reader_id, id, status, public_id FROM subscription "  # noqa: S608 # nosec B608
            f"WHERE newsletter_id = {self.mark} AND reader_id {self.member}"
        )
        if lock:
            sql += self.lock
        return self.rows(sql, (newsletter_id, self.listed(reader_ids)))
