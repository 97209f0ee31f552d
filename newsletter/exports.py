"""An export as someone's act: the newsletters their access lets them export, and its
entry on the audit trail, for the admin's download and ``newsletter export`` alike.

The entry is written before a row leaves (who, which newsletter, the filter, how many
rows, from where): an export that breaks off is on the record too.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter import audit
from newsletter import list_management
from newsletter.access_models import AuditAction
from newsletter.models import Newsletter
from newsletter.models import SubscriptionStatus
from newsletter.roles import Access
from newsletter.roles import Need


@dataclass(frozen=True)
class Export:
    """What to stream: one newsletter, or (``newsletter=None``) every newsletter, or the
    ones whose ids are ``only``."""

    newsletter: Newsletter | None
    only: list[int] | None
    rows: int


def record(
    session: Session,
    actor: str,
    access: Access,
    newsletter: Newsletter | None,
    status: SubscriptionStatus | None,
    ip: str | None = None,
) -> Export:
    """The export ``actor`` may make of ``newsletter`` (None: of all they edit), on the
    record. The caller has checked ``access`` meets EDIT on it, or EDIT_SOME."""
    every = newsletter is None and access.covers_every_newsletter()
    covered = [newsletter] if newsletter else access.newsletters(session, Need.EDIT)
    rows = list_management.subscription_count(session, covered, status)
    audit.record(
        session,
        actor,
        AuditAction.EXPORT,
        newsletter=newsletter.slug if newsletter else None,
        ip=ip,
        status=str(status or "all"),
        rows=rows,
        newsletters="all" if every else [n.slug for n in covered],
    )
    only = None if newsletter or every else [n.id for n in covered]
    return Export(newsletter, only, rows)
