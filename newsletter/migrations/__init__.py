"""Alembic migrations, run programmatically: no alembic.ini to keep beside the code."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration pointing at this folder and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database's schema back down to ``revision``, data carried along."""
    command.downgrade(alembic_config(database_url), revision)
