"""Alembic environment: the models' metadata, on an engine set up like the app's.

On SQLite, foreign keys are off while migrations run: a batch operation rebuilds a table
by copying it and dropping the original, and with foreign keys on, dropping
``subscription`` would cascade to its events and mail. They are checked once at the end.
"""

from alembic import context

from newsletter import import_jobs  # noqa: F401  (registers the tables on the metadata)
from newsletter import models  # noqa: F401
from newsletter import signup_waves  # noqa: F401
from newsletter.db.base import Base
from newsletter.db.engine import make_engine
from newsletter.webhooks import models as webhook_models  # noqa: F401


def _set_sqlite_foreign_keys(connection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one), on this connection."""
    cursor = connection.connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def _check_sqlite_foreign_keys(connection) -> None:
    """Fail if a migration left a row pointing at nothing."""
    cursor = connection.connection.cursor()
    broken = cursor.execute("PRAGMA foreign_key_check").fetchall()
    cursor.close()
    if broken:
        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


engine = make_engine(context.config.attributes["database_url"])
with engine.connect() as connection:
    on_sqlite = connection.dialect.name == "sqlite"
    if on_sqlite:
        _set_sqlite_foreign_keys(connection, on=False)
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=on_sqlite
    )
    with context.begin_transaction():
        context.run_migrations()
    if on_sqlite:
        _check_sqlite_foreign_keys(connection)
        _set_sqlite_foreign_keys(connection, on=True)
engine.dispose()
