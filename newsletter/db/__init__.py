"""The database: one engine and session factory per app, a session per request on ``g``.

Services take a session and never commit. A request that may change data (an unsafe
method) has one commit point, after its view: what it did is kept when it answers with
success (below 400) and rolled back otherwise, errors included. A safe request runs
read-only and never commits. A CLI command or the mail worker commits where its
transaction block ends. Requests with unsafe methods open their session
on the *writer* engine: on SQLite it begins with ``BEGIN IMMEDIATE`` so that two writers
queue on the busy timeout instead of failing when a read lock cannot be upgraded. On
PostgreSQL both engines are the same pool and the option is ignored.
"""

import logging
import os
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from datetime import UTC
from datetime import datetime
from functools import cache
from typing import ClassVar

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy import DateTime
from sqlalchemy import Engine
from sqlalchemy import Insert
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRIVATE_FILE_MODE = 0o600


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable across backends and migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here maps one table; the Core statements built from it need it as one.
    __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator):
    """A timestamp that is always an aware UTC datetime in Python, whatever the backend.

    SQLite has no time zones, so values are stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only clock the models use."""
    return datetime.now(UTC)


class Database:
    """The engine and session factories of one app."""

    def __init__(self, url: str, connect_timeout: int = 5) -> None:
        self.engine = make_engine(url, connect_timeout)
        self.writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.reading_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.writing_sessions = sessionmaker(self.writer, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session for work outside a request: commits on success, else rolls back."""
        with self.writing_sessions.begin() as session:
            yield session

    def checkpoint(self) -> None:
        """After an erasure: on SQLite, leave no copy of deleted rows in the WAL file.

        The WAL still holds the pages as they were before the delete; this copies it into
        the main file (where ``secure_delete`` zeroes deleted content) and empties it.
        PostgreSQL's files are the database server's to manage.
        """
        if self.engine.dialect.name != "sqlite":
            return
        # A raw connection: pysqlite's own BEGIN is off, and a checkpoint needs no transaction.
        connection = self.engine.raw_connection()
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        finally:
            connection.close()


def make_engine(url: str, connect_timeout: int = 5) -> Engine:
    """Create the engine, with SQLite made fit for a web server (WAL, busy timeout, FKs).

    ``connect_timeout`` (seconds) bounds how long a new connection to a database server
    may take, from the first packet to the end of authentication. A database error's
    text leaves out the statement's parameters: they are addresses and evidence, and the
    error is logged.
    """
    if url.startswith("sqlite"):
        _create_private_file(make_url(url).database)
        engine = create_engine(
            url, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    # Fail fast when the server is away: pre-ping drops dead pooled connections, and
    # neither a new connection nor a free pool slot is awaited for long.
    return create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": connect_timeout},
    )


def _create_private_file(database: str | None) -> None:
    """Create a SQLite database file readable by its owner only (SQLite's WAL and shared
    memory files take the same mode); an existing file is left as the operator keeps it.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # Exists already, or cannot be created (no such folder): SQLite says so on connecting.
    with suppress(OSError):
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))


def _configure_sqlite(engine: Engine) -> None:
    """Take over transaction control from pysqlite so that BEGIN can be IMMEDIATE.

    This is the recipe from SQLAlchemy's SQLite dialect docs ("Serializable isolation /
    Savepoints / Transactional DDL"): pysqlite's own BEGIN handling is switched off and
    the engine emits BEGIN itself.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        """Per connection: WAL (readers never wait for the writer), busy timeout, FKs, and
        deleted content overwritten with zeros (an erased address must leave the file)."""
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        """Emit BEGIN ourselves, IMMEDIATE for the writer engine."""
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


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
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement: postgresql.Insert | sqlite.Insert = insert(table)  # type: ignore[assignment]
    return statement.on_conflict_do_nothing(index_elements=unique_columns).returning(table.c.id)


def init_app(app: Flask) -> None:
    """Create the app's database; commit each request once, and close its session."""
    app.extensions["database"] = Database(
        app.config["DATABASE_URL"], app.config["DATABASE_CONNECT_TIMEOUT"]
    )
    # Registered first, so it runs after every other after-request hook (Flask runs them
    # in reverse): a commit that fails still becomes an error answer (503 on an outage).
    app.after_request(_commit_request)
    app.teardown_appcontext(lambda _error: end_session())


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the request's changes are committed; never if they are not."""
    g.setdefault("after_commit", []).append(action)


def _commit_request(response: Response) -> Response:
    """The request's one commit point: success keeps its changes, anything else does not."""
    db_session = g.get("db_session")
    if db_session is None or request.method in SAFE_METHODS:
        return response
    if response.status_code >= 400:
        end_session()
        return response
    db_session.commit()
    for action in g.pop("after_commit", []):
        action()
    return response


def database(app: Flask | None = None) -> Database:
    """The current (or given) app's database."""
    return (app or current_app).extensions["database"]


def session() -> Session:
    """The request's session, opened on first use; writer for unsafe methods."""
    if "db_session" not in g:
        db = database()
        reading = has_request_context() and request.method in SAFE_METHODS
        factory = db.reading_sessions if reading else db.writing_sessions
        g.db_session = factory()
    return g.db_session


def end_session() -> None:
    """Roll back whatever the request did not commit, and give the connection back.

    Called at teardown, and by the error handlers before they answer. If the database
    went away meanwhile (a restart), the rollback fails and the connection is dropped,
    rather than the answer lost to a 500.
    """
    db_session = g.pop("db_session", None)
    if db_session is None:
        return
    try:
        db_session.close()
    except SQLAlchemyError as error:
        log.warning("Closing the request's session failed (%s); dropped", type(error).__name__)
        db_session.invalidate()
