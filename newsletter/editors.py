"""Editors' accounts: creation, password checks (scrypt, via Werkzeug), sessions, disabling.

An editor's session cookie carries their ``session_version``; bumping it ends every
session they have (a signed cookie cannot be recalled otherwise).
"""

from collections.abc import Iterable
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from newsletter import addresses
from newsletter import audit
from newsletter import roles
from newsletter import two_factor
from newsletter.access_models import AuditAction
from newsletter.access_models import Role
from newsletter.db.types import utcnow
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


def create(
    session: Session,
    email: str,
    password: str,
    role: Role | None = None,
    slugs: Iterable[str] = (),
    *,
    actor: str = "CLI",
    ip: str | None = None,
) -> Editor:
    """Add an editor with a hashed password; the address must be valid and free.

    ``role`` on the newsletters ``slugs`` names; without one, the first editor is an owner
    and any later one a viewer of no newsletter (see :func:`roles.default_role`). On the
    audit trail as made by ``actor``.
    """
    try:
        normalized = addresses.normalize(email)
    except addresses.InvalidAddress as error:
        raise InvalidEditor(f"not a valid address: {email!r}") from error
    password_hash = _hash(password)
    if find(session, normalized) is not None:
        raise InvalidEditor(f"an editor with the address {normalized} exists already")
    chosen_role = role or roles.default_role(session)
    editor = Editor(email=addresses.key(normalized), password_hash=password_hash)
    session.add(editor)
    session.flush()
    if role is not None or chosen_role is Role.OWNER:
        try:
            roles.apply_role(session, editor, chosen_role, slugs)
        except roles.InvalidRole as error:
            raise InvalidEditor(str(error)) from None
    audit.record(
        session,
        actor,
        AuditAction.EDITOR_CREATED,
        ip=ip,
        editor=editor.email,
        role=str(editor.role),
        newsletters=roles.newsletter_slugs(session, editor),
    )
    return editor


def all_editors(session: Session) -> list[Editor]:
    """Every editor, by address."""
    return list(session.scalars(select(Editor).order_by(Editor.email)))


def set_password(session: Session, email: str, password: str) -> Editor:
    """Give the editor a new password and end their sessions (whoever holds them)."""
    editor = existing(session, email)
    editor.password_hash = _hash(password)
    end_sessions(session, editor)
    return editor


def disable(session: Session, email: str) -> Editor:
    """Keep the editor out: no sign-in, and their sessions end now."""
    editor = existing(session, email)
    editor.disabled_at = editor.disabled_at or utcnow()
    end_sessions(session, editor)
    return editor


def enable(session: Session, email: str) -> Editor:
    """Let a disabled editor sign in again (their old sessions stay ended)."""
    editor = existing(session, email)
    editor.disabled_at = None
    return editor


def reset_two_factor(session: Session, email: str) -> Editor:
    """Forget the editor's second factor (a lost phone) and end their sessions; they set
    it up again at their next sign-in if it is required, or when they choose."""
    editor = existing(session, email)
    two_factor.reset(session, editor)
    end_sessions(session, editor)
    return editor


def end_sessions(session: Session, editor: Editor) -> None:
    """End every session of the editor, copies of the cookie included."""
    editor.session_version = Editor.session_version + 1
    session.flush()


def existing(session: Session, email: str) -> Editor:
    """The editor with this address, or :class:`InvalidEditor` saying there is none."""
    editor = find(session, email)
    if editor is None:
        raise InvalidEditor(f"no editor with the address {email.strip()}")
    return editor


def _hash(password: str) -> str:
    """The stored form of a new password; :class:`InvalidEditor` if it is too short or long."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidEditor(f"a password is at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method="scrypt")


def find(session: Session, email: str) -> Editor | None:
    """The editor with this address (any casing), or None."""
    return session.scalars(
        select(Editor).where(Editor.email == addresses.key(email.strip()))
    ).one_or_none()


def authenticate(session: Session, email: str, password: str) -> Editor | None:
    """The editor if the password is right; None otherwise, in the same time either way.

    Not a sign-in yet: a second factor may be asked for (``newsletter.two_factor``).
    """
    # No account's address holds a control character (PostgreSQL refuses NUL in a query).
    plausible = len(email) <= addresses.MAX_INPUT_LENGTH and email.isprintable()
    editor = find(session, email) if plausible else None
    password = password[:MAX_PASSWORD_LENGTH]
    if editor is None:
        check_password_hash(_unknown_account_hash(), password)
        return None
    if not check_password_hash(editor.password_hash, password) or editor.disabled_at:
        return None
    return editor
