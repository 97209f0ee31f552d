"""API tokens for scripts: shown once at creation, kept only as a SHA-256 digest."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db.types import utcnow
from newsletter.models import ApiToken

PREFIX = "nl_"  # lets secret scanners and people recognise a token for what it is
MAX_API_TOKEN_LENGTH = 100


def create(session: Session, name: str) -> tuple[str, ApiToken]:
    """A new token: the secret (to show once) and its stored record."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name.strip()[:200] or "unnamed", token_hash=_digest(secret))
    session.add(token)
    session.flush()
    return secret, token


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke(session: Session, token_id: int) -> ApiToken | None:
    """Revoke a token for good; None if there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, recording its use; None otherwise."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_API_TOKEN_LENGTH:
        return None
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(secret))
    ).one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    token.last_used_at = utcnow()
    return token


def _digest(secret: str) -> str:
    """A random 256-bit secret needs no slow hash: SHA-256 is enough to make a leak useless."""
    return hashlib.sha256(secret.encode()).hexdigest()
