"""The declarative base of the models, with constraint names fixed by a naming convention."""

from typing import ClassVar

from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable across backends and migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here maps one table; the Core statements built from it need it as one.
    __table__: ClassVar[Table]
