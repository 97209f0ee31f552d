"""What several commands share: a transaction whose validation errors read well."""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from newsletter.db import database


@contextmanager
def editing(*invalid: type[Exception]) -> Iterator[Session]:
    """A write transaction; the given validation errors become clean command-line errors."""
    try:
        with database().transaction() as session:
            yield session
    except invalid as error:
        raise click.ClickException(str(error)) from error
