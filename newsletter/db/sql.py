"""SQL that differs by backend, written once here so that no other module asks which
backend it runs on.
"""

from functools import cache

from sqlalchemy import Insert
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from newsletter.db.base import Base


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
