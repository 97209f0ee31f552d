"""API tokens for scripts: shown once at creation, kept only as a SHA-256 digest.

A token exports (nothing else) the newsletters it was made for, or every newsletter if
made for none, until it expires (``DEFAULT_LIFETIME_DAYS`` unless chosen) or is revoked.
An expired or revoked token is no token (401); a newsletter outside its scope is a 403.
"""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import audit
from newsletter import newsletters
from newsletter import roles
from newsletter.access_models import ApiTokenNewsletter
from newsletter.access_models import AuditAction
from newsletter.access_models import Role
from newsletter.db.types import utcnow
from newsletter.models import ApiToken
from newsletter.models import Newsletter

PREFIX = "nl_"  # lets secret scanners and people recognise a token for what it is
MAX_API_TOKEN_LENGTH = 100
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 3660  # ten years: a date any database stores


class InvalidToken(ValueError):
    """A token that cannot be made as asked; the message says why."""


def create(
    session: Session,
    name: str,
    slugs: Iterable[str] = (),
    days: int = DEFAULT_LIFETIME_DAYS,
    *,
    actor: str = "CLI",
    ip: str | None = None,
) -> tuple[str, ApiToken]:
    """A new token for the newsletters ``slugs`` names (none: every newsletter), valid for
    ``days``: the secret (to show once) and its stored record. On the audit trail as made
    by ``actor`` (never with its secret)."""
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise InvalidToken(f"a token lives from 1 to {MAX_LIFETIME_DAYS} days")
    try:
        chosen = roles.newsletters_named(session, slugs)
    except roles.InvalidRole as error:
        raise InvalidToken(str(error)) from None
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip()[:200] or "unnamed",
        token_hash=_digest(secret),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    session.add_all(ApiTokenNewsletter(api_token_id=token.id, newsletter_id=n.id) for n in chosen)
    session.flush()
    audit.record(
        session,
        actor,
        AuditAction.TOKEN_CREATED,
        ip=ip,
        token=token.id,
        name=token.name,
        newsletters=[n.slug for n in chosen] or "all",
        expires_at=token.expires_at.isoformat(),
    )
    return secret, token


def scope(session: Session, token: ApiToken) -> list[int]:
    """The ids of the newsletters a token may export; empty: every newsletter."""
    return list(
        session.scalars(
            select(ApiTokenNewsletter.newsletter_id).where(
                ApiTokenNewsletter.api_token_id == token.id
            )
        )
    )


def scope_slugs(session: Session) -> dict[int, list[str]]:
    """Each scoped token's newsletters by slug, in order, by token id (a token missing
    here may export every newsletter); one query for a page or a listing of tokens."""
    scoped: dict[int, list[str]] = {}
    for token_id, slug in session.execute(
        select(ApiTokenNewsletter.api_token_id, Newsletter.slug)
        .join(Newsletter, Newsletter.id == ApiTokenNewsletter.newsletter_id)
        .order_by(*newsletters.LISTING_ORDER)
    ):
        scoped.setdefault(token_id, []).append(slug)
    return scoped


def access_of(session: Session, token: ApiToken) -> roles.Access:
    """A token exports as an editor of its newsletters would (the export is all it reaches)."""
    ids = scope(session, token)
    return roles.Access(Role.EDITOR, frozenset(ids) if ids else None)


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke(
    session: Session, token_id: int, *, actor: str = "CLI", ip: str | None = None
) -> ApiToken | None:
    """Revoke a token for good (on the audit trail as done by ``actor``); None if there is
    no such token."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session, actor, AuditAction.TOKEN_REVOKED, ip=ip, token=token.id, name=token.name
        )
    return token


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token with this secret, recording its use; None otherwise."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_API_TOKEN_LENGTH:
        return None
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(secret))
    ).one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    token.last_used_at = utcnow()
    return token


def _digest(secret: str) -> str:
    """A random 256-bit secret needs no slow hash: SHA-256 is enough to make a leak useless."""
    return hashlib.sha256(secret.encode()).hexdigest()
