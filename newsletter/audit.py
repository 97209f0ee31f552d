"""The audit trail: who signed in, exported, erased, imported, changed roles, tokens or
webhooks; append-only, kept ``AUDIT_RETENTION_DAYS``.

GDPR Art. 5(2) asks the newsroom to show who processed readers' data. :func:`record` adds
an entry in the caller's session (it is kept when the caller's work is); nothing of the
app changes or deletes an entry, except :func:`purge` of entries older than the retention.
Two guards hold that, so that a bug (or a rogue change) cannot quietly rewrite history:

- the ORM refuses to flush an update or a delete of an :class:`AuditEntry`;
- every engine refuses any ``UPDATE`` or ``DELETE`` statement on ``audit_entry``, however
  it was written (ORM bulk, Core, raw SQL), outside :func:`purge`.

An erasure's entry never names the erased address: that is what was erased.
"""

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session

from newsletter.access_models import ACTOR_LENGTH
from newsletter.access_models import AuditAction
from newsletter.access_models import AuditEntry
from newsletter.db.types import utcnow

PAGE_SIZE = 100
# Any statement that would change or remove an entry, whatever wrote it.
CHANGING_STATEMENT = re.compile(
    r"^\s*(?:UPDATE\s+|DELETE\s+FROM\s+)[\"`]?audit_entry\b", re.IGNORECASE
)

__all__ = ["AuditAction", "AuditEntry", "AuditRefused", "entries", "purge", "record"]


class AuditRefused(RuntimeError):
    """Something tried to change or delete an audit entry."""


_purging = threading.local()


def record(
    session: Session,
    actor: str,
    action: AuditAction,
    *,
    newsletter: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an entry: ``actor`` (an editor's address, ``token NAME`` or ``CLI``) did
    ``action``, to ``newsletter`` (a slug), from ``ip``; ``detail`` says the rest
    (JSON values, never a reader's address)."""
    entry = AuditEntry(
        actor=actor[:ACTOR_LENGTH], action=str(action), newsletter=newsletter, ip=ip, detail=detail
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[AuditEntry]:
    """Entries newest first, filtered; ``before`` (an id) pages back."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if since is not None:
        statement = statement.where(AuditEntry.occurred_at >= since)
    if actor:
        statement = statement.where(AuditEntry.actor == actor.strip())
    if action:
        statement = statement.where(AuditEntry.action == action)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    return list(session.scalars(statement))


def purge(session: Session, retention_days: int) -> int:
    """Delete entries older than the retention, and record that it was done; the count."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with _allowed_to_purge():
        result = session.execute(delete(AuditEntry).where(AuditEntry.occurred_at < cutoff))
    purged = result.rowcount  # type: ignore[attr-defined]
    record(session, "CLI", AuditAction.AUDIT_PURGED, older_than_days=retention_days, count=purged)
    return purged


@contextmanager
def _allowed_to_purge() -> Iterator[None]:
    """Lift the statement guard for this thread, for the purge's one DELETE."""
    _purging.active = True
    try:
        yield
    finally:
        _purging.active = False


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_orm_change(_mapper: Mapper, _connection: Any, entry: AuditEntry) -> None:
    """The ORM may add entries, never change or delete one."""
    raise AuditRefused(f"the audit trail is append-only (entry {entry.id})")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_changing_statement(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """No statement of the app's changes or deletes entries, but the retention purge's."""
    if CHANGING_STATEMENT.match(statement) and not getattr(_purging, "active", False):
        raise AuditRefused("the audit trail is append-only")
