"""What the commands share: their transactions, and the newsletter a ``--newsletter`` names.

A command that changes data does it in one :func:`editing` block, which commits where it
ends; a command that only looks runs in :func:`reading`, which takes no write lock (other
writers are not held up, and nothing it does could be committed).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from newsletter import newsletters
from newsletter.db import database
from newsletter.models import Newsletter


@contextmanager
def editing(*invalid: type[Exception]) -> Iterator[Session]:
    """A write transaction; the given validation errors become clean command-line errors."""
    try:
        with database().transaction() as session:
            yield session
    except invalid as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only session, closed (never committed) at the end of the block."""
    with database().reading_sessions() as session:
        yield session


def newsletter_named(session: Session, slug: str) -> Newsletter:
    """The newsletter with this slug, or the command fails saying there is none."""
    newsletter = newsletters.get_by_slug(session, slug)
    if newsletter is None:
        raise click.ClickException(f"no newsletter with the slug {slug!r}")
    return newsletter
