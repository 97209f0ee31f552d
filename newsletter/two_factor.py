"""Editors' second factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

No Flask request in here; functions take the caller's session and never commit.

- Enrolment: :func:`begin` gives the editor a new secret, kept but not yet in force;
  :func:`confirm` puts it in force once the editor types a code their app made from it, and
  returns ten recovery codes, shown once and kept only as SHA-256 hashes (each is 60
  random bits: a slow hash adds nothing to a secret nobody can guess, as with API tokens).
- Sign-in: :func:`verify` takes a code from the app (this 30-second step or its
  neighbours, for clocks that drift) or a recovery code. An app code is good once: the
  step it was made for is remembered, and that step or an earlier one is refused after,
  so a code seen over a shoulder or in a proxy's log cannot be replayed in its window. A
  recovery code is spent by its use.
"""

import hashlib
import hmac
import secrets
from io import BytesIO

import pyotp
import segno
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.db.types import utcnow
from newsletter.models import Editor
from newsletter.models import RecoveryCode

ISSUER = "Newsletters"
RECOVERY_CODES = 10
# Recovery codes are written in groups of four from an alphabet without look-alikes.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4
# Steps either side of now an app's code may be for (a phone's clock a little off).
VALID_WINDOW = 1
CODE_DIGITS = 6
# Longest code input worth looking at: a recovery code with its dashes and some spaces.
MAX_CODE_INPUT = 64


def enrolled(editor: Editor) -> bool:
    """Whether the editor signs in with a second factor."""
    return editor.totp_enabled_at is not None


def begin(editor: Editor) -> str:
    """A new secret for the editor's app, not in force until :func:`confirm`; an enrolment
    already begun keeps its secret, so that a page reloaded matches the app."""
    if enrolled(editor):
        raise ValueError("the editor is enrolled already")
    if editor.totp_secret is None:
        editor.totp_secret = pyotp.random_base32()
    return editor.totp_secret


def provisioning_uri(editor: Editor) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(_secret(editor)).provisioning_uri(name=editor.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an SVG element to put in the page (no image service)."""
    output = BytesIO()
    segno.make(uri, error="m").save(
        output,
        kind="svg",
        border=2,
        light="#fff",
        xmldecl=False,
        omitsize=True,  # a viewBox only: the stylesheet sizes it
        title="QR code for your authenticator app",
    )
    # An image to assistive technology, named by its title.
    return output.getvalue().decode("utf-8").replace("<svg ", '<svg role="img" ', 1)


def confirm(session: Session, editor: Editor, code: str) -> list[str] | None:
    """Put the begun enrolment in force if ``code`` is right: the recovery codes, shown
    once; None (and nothing changed) if the code is wrong or nothing was begun."""
    if enrolled(editor) or editor.totp_secret is None:
        return None
    if not _accept_app_code(editor, code):
        return None
    editor.totp_enabled_at = utcnow()
    return new_recovery_codes(session, editor)


def new_recovery_codes(session: Session, editor: Editor) -> list[str]:
    """Ten fresh recovery codes for the editor; any they had stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.editor_id == editor.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(editor_id=editor.id, code_hash=_digest(code)) for code in codes)
    session.flush()
    return codes


def verify(session: Session, editor: Editor, code: str) -> bool:
    """Whether ``code`` (from the app, or a recovery code) lets the editor in; a good code
    is used up by this call."""
    if not enrolled(editor) or len(code) > MAX_CODE_INPUT:
        return False
    return _accept_app_code(editor, code) or _spend_recovery_code(session, editor, code)


def reset(session: Session, editor: Editor) -> None:
    """Forget the editor's second factor (a lost phone): they enrol again."""
    editor.totp_secret = None
    editor.totp_enabled_at = None
    editor.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.editor_id == editor.id))


def remaining_recovery_codes(session: Session, editor: Editor) -> int:
    """How many of the editor's recovery codes are unused."""
    return (
        session.scalar(
            select(func.count()).where(
                RecoveryCode.editor_id == editor.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def _accept_app_code(editor: Editor, code: str) -> bool:
    """A code the app made for a step near now, later than the last one accepted."""
    digits = "".join(code.split())
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        return False
    totp = pyotp.TOTP(_secret(editor))
    now = utcnow()
    current = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), digits):
            if editor.totp_last_step is not None and step <= editor.totp_last_step:
                return False  # used already, or older than one used
            editor.totp_last_step = step
            return True
    return False


def _spend_recovery_code(session: Session, editor: Editor, code: str) -> bool:
    """Use up one unused recovery code of the editor's, if ``code`` is one.

    One UPDATE guarded by ``used_at IS NULL``: two sign-ins racing with the same code
    cannot both spend it.
    """
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.editor_id == editor.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def _recovery_code() -> str:
    """``abcd-efgh-jkmn``: 12 characters of a 31-letter alphabet, about 60 bits."""
    groups = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
        for _ in range(RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _digest(code: str) -> str:
    """The stored form of a recovery code, as typed in any case, with or without dashes."""
    canonical = "".join(character for character in code.lower() if character.isalnum())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _secret(editor: Editor) -> str:
    """The editor's TOTP secret; callers reach here only once enrolment has begun."""
    if editor.totp_secret is None:
        raise ValueError("two-factor enrolment has not begun for this editor")
    return editor.totp_secret
