"""What the commands share: their transactions, the newsletter a ``--newsletter`` names,
the editor an ``--as EMAIL`` acts for, and durations such as ``30d``.

A command that changes data does it in one :func:`editing` block, which commits where it
ends; a command that only looks runs in :func:`reading`, which takes no write lock (other
writers are not held up, and nothing it does could be committed).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from sqlalchemy.orm import Session

from newsletter import editors
from newsletter import newsletters
from newsletter import roles
from newsletter.db import database
from newsletter.models import Newsletter

DURATION = re.compile(r"(\d{1,6})([dhm])")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}
OPERATOR = "CLI"  # who the audit trail names for a command run without --as
AS_EDITOR = click.option(
    "--as",
    "as_editor",
    metavar="EMAIL",
    help="Act for this editor: only what their role allows, on the record as them.",
)


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


def duration(text: str, param_hint: str) -> timedelta:
    """``30d``, ``12h`` or ``90m`` as a time span; a usage error otherwise."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter("use a number and d, h or m, e.g. 30d", param_hint=param_hint)
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def acting_for(session: Session, email: str | None) -> tuple[str, roles.Access]:
    """Who a command acts as and what they may do: the operator (everything), or with
    ``--as EMAIL`` an enabled editor, within their role."""
    if email is None:
        return OPERATOR, roles.OWNER_ACCESS
    editor = editors.find(session, email)
    if editor is None or editor.disabled_at is not None:
        raise click.ClickException(f"no enabled editor with the address {email.strip()}")
    return editor.email, roles.access_of(session, editor)


def require(access: roles.Access, need: roles.Need, newsletter: Newsletter | None = None) -> None:
    """Stop the command unless ``access`` meets ``need`` (on ``newsletter``)."""
    if not access.may(need, newsletter):
        target = f" on {newsletter.slug}" if newsletter else ""
        raise click.ClickException(f"the editor's role does not allow this{target}")
