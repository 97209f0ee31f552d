"""The database: one engine and session factory per app, a session per request on ``g``.

Services take a session and never commit. A request that may change data (an unsafe
method) has one commit point, after its view: what it did is kept when it answers with
success (below 400) and rolled back otherwise, errors included. A safe request runs
read-only and never commits. A CLI command or the mail worker commits where its
transaction block ends. Requests with unsafe methods open their session
on the *writer* engine: on SQLite it begins with ``BEGIN IMMEDIATE`` so that two writers
queue on the busy timeout instead of failing when a read lock cannot be upgraded. On
PostgreSQL both engines are the same pool and the option is ignored.

The rest of the database layer is in this package's other modules: ``engine`` (the
engine and ``Database``), ``base`` (the models' base), ``types`` (column types and the
clock) and ``sql`` (the SQL that differs by backend).
"""

import logging
from collections.abc import Callable

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from newsletter.db.engine import Database

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Create the app's database; commit each request once, and close its session."""
    app.extensions["database"] = Database(
        app.config["DATABASE_URL"], app.config["DATABASE_CONNECT_TIMEOUT"]
    )
    app.teardown_appcontext(lambda _error: end_session())


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the request's changes are committed; never if they are not."""
    g.setdefault("after_commit", []).append(action)


def commit_request(response: Response) -> None:
    """The request's one commit point: success keeps its changes, anything else does not.

    Called right after the view (see :class:`newsletter.App`), so that a commit that fails
    is answered by the error handlers like any error of the view (503 on an outage).
    """
    db_session = g.get("db_session")
    if db_session is None or request.method in SAFE_METHODS:
        return
    if response.status_code >= 400:
        end_session()
        return
    db_session.commit()
    for action in g.pop("after_commit", []):
        action()


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
