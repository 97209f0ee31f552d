"""Signups in two steps: the web request records one, the worker applies it.

Why: the answer to a signup never depends on the address's state, and neither may its
duration. Applying a signup does different work per state (a new address gets a row, an
event and a rendered confirmation; a confirmed one gets nothing), and one timed request
told a new address from a subscribed one three times in four. So the request does the
same thing for every address, :func:`record` (an INSERT of the request, one of its
chosen newsletters), and the mail worker does the rest later with :func:`apply_pending`,
where no reader is waiting on it. A signup to several newsletters is one request, applied
at once, so that it sends one confirmation email.

Applying is exactly once without leases: a batch is taken, subscribed, deleted and
committed in one transaction. On PostgreSQL the batch is read ``FOR UPDATE SKIP LOCKED``,
so concurrent workers take different rows; SQLite has a single writer. A worker that dies
mid-batch rolls back, and the rows wait for the next one.
"""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import signup_waves
from newsletter import subscriptions
from newsletter.db.types import utcnow
from newsletter.models import Newsletter
from newsletter.models import SignupRequest
from newsletter.models import SignupRequestNewsletter
from newsletter.newsletters import LISTING_ORDER
from newsletter.subscriptions import Evidence

# Built once: a request writes its rows with plain INSERTs and reads back only its id.
INSERT_REQUEST = insert(SignupRequest.__table__).returning(SignupRequest.__table__.c.id)
INSERT_CHOSEN = insert(SignupRequestNewsletter.__table__)


def record(session: Session, chosen: Sequence[Newsletter], email: str, evidence: Evidence) -> None:
    """Keep a signup of ``email`` (already normalised) to the ``chosen`` newsletters for
    the worker, with its evidence."""
    request_id = session.execute(
        INSERT_REQUEST,
        {
            "email": email,
            "email_key": addresses.key(email),
            "ip": evidence.ip,
            "user_agent": evidence.user_agent,
            "source": evidence.source,
            "source_url": evidence.source_url,
            "language": evidence.language,
            "received_at": utcnow(),
        },
    ).scalar_one()
    session.execute(
        INSERT_CHOSEN,
        [
            {"signup_request_id": request_id, "newsletter_id": chosen_one.id}
            for chosen_one in chosen
        ],
    )


def apply_pending(session: Session, limit: int) -> int:
    """Subscribe up to ``limit`` recorded signups, oldest first, and delete them.

    Needs an app context (policy and mail templates); the caller commits. Returns how
    many were applied.
    """
    batch = session.scalars(
        select(SignupRequest)
        .order_by(SignupRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    chosen = _chosen_newsletters(session, [request.id for request in batch])
    for request in batch:
        subscriptions.subscribe_to_all(
            session,
            chosen[request.id],
            request.email,
            Evidence(
                request.ip,
                request.user_agent,
                request.source,
                request.source_url,
                request.language,
            ),
            at=request.received_at,
        )
    if batch:
        session.execute(
            delete(SignupRequest).where(SignupRequest.id.in_([request.id for request in batch]))
        )
        touched = {newsletter.id: newsletter for each in chosen.values() for newsletter in each}
        signup_waves.check(session, list(touched.values()))
    return len(batch)


def _chosen_newsletters(session: Session, request_ids: list[int]) -> dict[int, list[Newsletter]]:
    """The newsletters each request chose, in the listing order (every signup locks its
    subscriptions in that one order: see ``subscriptions.subscribe_to_all``)."""
    chosen: dict[int, list[Newsletter]] = defaultdict(list)
    rows = session.execute(
        select(SignupRequestNewsletter.signup_request_id, Newsletter)
        .join(Newsletter)
        .where(SignupRequestNewsletter.signup_request_id.in_(request_ids))
        .order_by(*LISTING_ORDER)
    )
    for request_id, newsletter in rows:
        chosen[request_id].append(newsletter)
    return chosen


def forget(session: Session, email_key: str) -> None:
    """Delete the address's signups not yet applied, to every newsletter (erasure must not
    be undone by one)."""
    session.execute(delete(SignupRequest).where(SignupRequest.email_key == email_key))


def waiting(session: Session) -> int:
    """How many recorded signups wait for a worker (the dashboard's queue health)."""
    return session.scalar(select(func.count()).select_from(SignupRequest)) or 0
