"""The engine of one app: ``make_engine`` (SQLite made fit for a web server) and ``Database``.

On SQLite, a ``Database``'s *writer* engine begins its transactions with ``BEGIN
IMMEDIATE``, so that two writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded. On PostgreSQL both engines are the same pool and the option is
ignored. ``Database.checkpoint`` stays here although it is SQLite's alone: it works on the
engine's files, not on a statement of the application's.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
PRIVATE_FILE_MODE = 0o600


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
