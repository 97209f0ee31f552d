"""The tables of who may do what, and of what they did: editors' roles and the newsletters
each role covers, API tokens' scopes, and the append-only audit trail.

Kept apart from ``models`` (the readers' side); ``models`` imports :class:`Role` for the
editor's column. The audit table is guarded against changes in ``newsletter.audit``.
"""

import enum
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from newsletter.db.base import Base
from newsletter.db.types import UTCDateTime
from newsletter.db.types import utcnow

ACTOR_LENGTH = 400  # an editor's address (320), or "token " and a token's name (200)


class Role(enum.StrEnum):
    """What an editor may do: everything, or on the newsletters named for them."""

    OWNER = "owner"  # every newsletter, creating them, editors, tokens and the audit trail
    EDITOR = "editor"  # their newsletters: subscribers, the export, the settings
    VIEWER = "viewer"  # their newsletters: counts and the chart only


class EditorNewsletter(Base):
    """A newsletter an editor or a viewer works on (an owner's role covers them all)."""

    __tablename__ = "editor_newsletter"

    editor_id: Mapped[int] = mapped_column(
        ForeignKey("editor.id", ondelete="CASCADE"), primary_key=True
    )
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiTokenNewsletter(Base):
    """A newsletter a token may export (a token with none may export every newsletter)."""

    __tablename__ = "api_token_newsletter"

    api_token_id: Mapped[int] = mapped_column(
        ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True
    )
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditAction(enum.StrEnum):
    """What an audit entry records."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    EXPORT = "export"
    ERASURE = "erasure"
    IMPORT = "import"
    EDITOR_CREATED = "editor_created"
    ROLE_CHANGED = "role_changed"
    TOKEN_CREATED = "token_created"  # noqa: S105 # nosec B105
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 # nosec B105
    WEBHOOK_CREATED = "webhook_created"
    WEBHOOK_CHANGED = "webhook_changed"
    WEBHOOK_DELETED = "webhook_deleted"
    AUDIT_PURGED = "audit_purged"


class AuditEntry(Base):
    """One thing an editor, a token or the command line did to readers' data or to access.

    Append-only: rows are never changed, and deleted only by the retention purge. Plain
    values, no foreign keys: an entry outlives the editor, token or newsletter it names.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_actor_id", "actor", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    newsletter: Mapped[str | None] = mapped_column(String(64))  # its slug
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
