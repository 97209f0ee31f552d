"""Alembic environment: the models' metadata, on an engine set up like the app's."""

from alembic import context

from newsletter import models  # noqa: F401  (registers the tables on the metadata)
from newsletter.db.base import Base
from newsletter.db.engine import make_engine

engine = make_engine(context.config.attributes["database_url"])
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
