"""SQL that differs by backend, written once here so that no other module asks which
backend it runs on.

Expressions are constructs compiled per dialect (``sqlalchemy.ext.compiler``): a query
holds ``IsoUtc(column)`` and each backend renders its own SQL for it. Times on SQLite are
naive UTC text (``2026-11-29 07:09:59.871588``, see ``UTCDateTime``); on PostgreSQL
``timestamptz``, converted to UTC whatever the session's time zone.

Three things are chosen by the dialect's name instead: ``INSERT … ON CONFLICT``, whose SQL
is the same on both backends but whose construct is each dialect's own ``insert``, a
statement only PostgreSQL has (``SET LOCAL synchronous_commit``), and a CSV the server
makes (PostgreSQL's ``COPY … TO STDOUT``).
"""

from collections.abc import Generator
from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection
from sqlalchemy import Insert
from sqlalchemy import Integer
from sqlalchemy import Select
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from newsletter.db.base import Base

ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


class IsoUtc(FunctionElement[str]):
    """A timestamp column as ISO 8601 text in UTC, ``2026-11-29T07:09:59Z``.

    Made by the database: a million datetimes are slow to format in Python.
    """

    type = String()
    name = "iso_utc"
    inherit_cache = True


class UtcDay(FunctionElement[str]):
    """The UTC calendar day of a timestamp column, as ``YYYY-MM-DD`` text."""

    type = String()
    name = "utc_day"
    inherit_cache = True


class FirstCodePoint(FunctionElement[int]):
    """The code point of a text's first character (NULL for NULL; 0 or NULL for '').

    Cheap where ``substr(ltrim(…), 1, 1)`` copies the text twice: a test on it first
    spares that work on almost every cell (see ``csv_export.neutralised``).
    """

    type = Integer()
    name = "first_code_point"
    inherit_cache = True


# Constants are written into the SQL, not bound: a query may hold the same construct twice
# (a SELECT column and its GROUP BY), and PostgreSQL groups only by the same text.


@compiles(IsoUtc, "sqlite")
def _iso_utc_on_sqlite(element: IsoUtc, compiler: SQLCompiler, **kw) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {_column(element, compiler, **kw)})"


@compiles(FirstCodePoint, "sqlite")
def _first_code_point_on_sqlite(element: FirstCodePoint, compiler: SQLCompiler, **kw) -> str:
    return f"unicode({_column(element, compiler, **kw)})"


@compiles(FirstCodePoint, "postgresql")
def _first_code_point_on_postgresql(element: FirstCodePoint, compiler: SQLCompiler, **kw) -> str:
    return f"ascii({_column(element, compiler, **kw)})"


@compiles(UtcDay, "sqlite")
def _utc_day_on_sqlite(element: UtcDay, compiler: SQLCompiler, **kw) -> str:
    return f"substr({_column(element, compiler, **kw)}, 1, 10)"  # the text's date part


@compiles(IsoUtc, "postgresql")
def _iso_utc_on_postgresql(element: IsoUtc, compiler: SQLCompiler, **kw) -> str:
    column = _column(element, compiler, **kw)
    return f"""to_char(timezone('UTC', {column}), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


@compiles(UtcDay, "postgresql")
def _utc_day_on_postgresql(element: UtcDay, compiler: SQLCompiler, **kw) -> str:
    return f"to_char(timezone('UTC', {_column(element, compiler, **kw)}), 'YYYY-MM-DD')"


def _column(element: FunctionElement, compiler: SQLCompiler, **kw) -> str:
    """The SQL of the construct's one argument, a column."""
    (column,) = element.clauses
    return compiler.process(column, **kw)


def commit_without_waiting_for_disk(session: Session) -> None:
    """Let this transaction's commit return before it is flushed to disk, where the backend
    allows it: on PostgreSQL (``synchronous_commit`` off for this transaction only).
    SQLite's commit, in WAL mode with ``synchronous=NORMAL``, does not wait for the disk.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(ASYNCHRONOUS_COMMIT)


def insert_unless_exists(
    session: Session, model: type[Base], unique_columns: list[str], **values: object
) -> bool:
    """INSERT a row unless one with the same unique key exists; True if it was inserted.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same key to commit
    instead of failing, so callers need no retry loop and the server logs no error.
    """
    statement = _insert_unless_exists(
        session.get_bind().dialect.name, model.__table__, tuple(unique_columns)
    )
    return session.execute(statement, values).first() is not None


@cache
def _insert_unless_exists(dialect: str, table: Table, unique_columns: tuple[str, ...]) -> Insert:
    """The statement, built once: its values are bound at execution.

    Building it (and its cache key) anew for every signup was a tenth of a signup's CPU.
    """
    return insert_ignoring_conflicts(dialect, table, unique_columns).returning(table.c.id)


@cache
def insert_ignoring_conflicts(
    dialect: str, table: Table, unique_columns: tuple[str, ...]
) -> Insert:
    """``INSERT … ON CONFLICT (unique_columns) DO NOTHING`` into ``table``, built once per
    dialect's name (``session.get_bind().dialect.name``); for many rows at once too."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement: postgresql.Insert | sqlite.Insert = insert(table)  # type: ignore[assignment]
    return statement.on_conflict_do_nothing(index_elements=unique_columns)


def copied_as_csv(connection: Connection, statement: Select) -> Generator[bytes, None, None] | None:
    """The statement's rows as CSV made by the database server, in pieces as they come, on
    PostgreSQL (``COPY (…) TO STDOUT``, one line per row ended by LF, an empty string
    quoted as ``""`` and NULL left empty); None elsewhere.

    COPY takes no bound parameters: the statement's values are written into its SQL by the
    dialect, which quotes them (the export's are slugs, statuses and single characters).
    """
    if connection.dialect.name != "postgresql":
        return None
    query = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    return _copied(connection, f"COPY ({query}) TO STDOUT WITH (FORMAT csv)")


def _copied(connection: Connection, copy: str) -> Generator[bytes, None, None]:
    # The DBAPI connection of this (SQLAlchemy) connection, within its transaction.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(copy) as copying:
            for piece in copying:
                yield bytes(piece)
    finally:
        cursor.close()


def raw_batches(
    connection: Connection, statement: Select, size: int
) -> Generator[Sequence, None, None]:
    """The statement's rows as the DBAPI cursor gives them (tuples, no SQLAlchemy row
    objects or type processing: for columns that are text already), ``size`` at a time.

    For SQLite, which steps through its rows in place; on PostgreSQL this cursor would
    hold the whole result in memory (use :func:`copied_as_csv` there).
    """
    cursor = connection.execute(statement).cursor
    try:
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        cursor.close()
