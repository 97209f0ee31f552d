"""Editors' accounts: creation and password checks (scrypt, via Werkzeug)."""

from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from newsletter import addresses
from newsletter.db import utcnow
from newsletter.models import Editor

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


@cache
def _unknown_account_hash() -> str:
    """Checked against when the account does not exist, so both answers take as long.

    Made on first use, not at import: scrypt costs ~0.2 s, which every process that
    imports the package (each gunicorn worker, each CLI command, the mail worker) paid.
    """
    return generate_password_hash("no such editor", method="scrypt")


class InvalidEditor(ValueError):
    """An address or password that cannot make an account; the message says why."""


def create(session: Session, email: str, password: str) -> Editor:
    """Add an editor with a hashed password; the address must be valid and free."""
    try:
        normalized = addresses.normalize(email)
    except addresses.InvalidAddress as error:
        raise InvalidEditor(f"not a valid address: {email!r}") from error
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidEditor(f"a password is at least {MIN_PASSWORD_LENGTH} characters")
    if find(session, normalized) is not None:
        raise InvalidEditor(f"an editor with the address {normalized} exists already")
    editor = Editor(
        email=addresses.key(normalized),
        password_hash=generate_password_hash(password, method="scrypt"),
    )
    session.add(editor)
    session.flush()
    return editor


def find(session: Session, email: str) -> Editor | None:
    """The editor with this address (any casing), or None."""
    return session.scalars(
        select(Editor).where(Editor.email == addresses.key(email.strip()))
    ).one_or_none()


def authenticate(session: Session, email: str, password: str) -> Editor | None:
    """The editor if the password is right; None otherwise, in the same time either way."""
    # No account's address holds a control character (PostgreSQL refuses NUL in a query).
    plausible = len(email) <= addresses.MAX_INPUT_LENGTH and email.isprintable()
    editor = find(session, email) if plausible else None
    password = password[:MAX_PASSWORD_LENGTH]
    if editor is None:
        check_password_hash(_unknown_account_hash(), password)
        return None
    if not check_password_hash(editor.password_hash, password):
        return None
    editor.last_login_at = utcnow()
    return editor
