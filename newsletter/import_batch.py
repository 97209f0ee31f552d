"""One batch of an import's rows applied with a few statements, whatever its length.

Per batch, not per row (a million rows are a thousand batches): one ``SELECT … IN`` finds
the readers the batch's addresses already have, one multi-row ``INSERT … ON CONFLICT DO
NOTHING`` makes the others (a concurrent signup of the same address wins, as a signup's
would), one more ``SELECT … IN`` gives their ids; the same for the subscriptions to the
newsletter (``RETURNING`` says which ones this import created), then a locking ``SELECT …
IN … FOR UPDATE`` of them all, one ``UPDATE`` statement per kind of move (executemany)
and one ``INSERT`` of the history events. No ORM object is made: these are Core
statements on the tables.

The rows are then decided in file order against the statuses held in memory, so an
address twice in a batch ends as it would one row at a time: what each row does is
:func:`outcome` (the table in ``newsletter.importing``).
"""

import enum
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import Insert
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter.db.sql import insert_ignoring_conflicts
from newsletter.import_formats import SourceRow
from newsletter.models import EventKind
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from newsletter.models import new_public_id

READERS = Reader.__table__
SUBSCRIPTIONS = Subscription.__table__
# The report lists this many skipped lines; past it, it counts them (constant memory).
SKIPPED_LISTED = 1000
IMPORT_SOURCE = "import"  # the subscription's ``source`` when the file names none
INSERT_EVENTS = insert(SubscriptionEvent.__table__)
CONFIRM = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("target_id"))
    .values(
        status=bindparam("new_status"),
        confirmed_at=bindparam("new_confirmed_at"),
        confirmed_ip=bindparam("new_confirmed_ip"),
    )
)
OPT_OUT = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("target_id"))
    .values(status=bindparam("new_status"), unsubscribed_at=bindparam("new_unsubscribed_at"))
)
SET_LANGUAGE = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("target_id"))
    .values(language=bindparam("new_language"))
)


@dataclass(frozen=True)
class Target:
    """The newsletter imported into (our export names each row's by its slug)."""

    id: int
    slug: str
    language: str  # of a subscription made from a row that names none


@dataclass
class Report:
    """What an import did (or, dry, would do)."""

    format: str = ""
    sha256: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_opted_out: int = 0
    skipped: int = 0
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        """Count a skipped row, and list it while the list is short enough to read."""
        self.skipped += 1
        if len(self.skipped_lines) < SKIPPED_LISTED:
            self.skipped_lines.append((line, reason))


class Outcome(enum.Enum):
    """What a row does to a subscription that already exists."""

    UNCHANGED = "unchanged"
    KEPT_OPTED_OUT = "kept opted-out"
    MOVED = "moved"


# (here, there) pairs a row leaves as they are: a confirmed reader stays confirmed, and a
# bounce is never undone by an import (the mailbox is gone, whatever the source says).
KEPT = {
    (SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING),
    (SubscriptionStatus.BOUNCED, SubscriptionStatus.UNSUBSCRIBED),
}


def outcome(here: SubscriptionStatus, there: SubscriptionStatus) -> Outcome:
    """What a row saying ``there`` does to a subscription ``here``."""
    if here is there or (here, there) in KEPT:
        return Outcome.UNCHANGED
    if here.opted_out and not there.opted_out:
        return Outcome.KEPT_OPTED_OUT
    return Outcome.MOVED


@dataclass(frozen=True)
class Batch:
    """The valid rows of one batch, in file order, and what they were read with."""

    target: Target
    rows: Sequence[tuple[str, SourceRow]]  # (normalised address, the row)
    detail: str  # the history's record of the import (``importing.import_record``)
    language: str | None  # ``--language``: every imported subscription's, over the file's
    now: datetime


def apply(session: Session, batch: Batch, report: Report) -> None:
    """Apply the batch, counting each row in the report."""
    readers = _readers(session, batch)
    statuses = _locked_subscriptions(session, batch.target.id, set(readers.values()))
    created = _create_subscriptions(session, batch, readers, statuses)
    confirms: dict[int, dict] = {}
    opt_outs: dict[int, dict] = {}
    languages: dict[int, dict] = {}
    events: list[dict] = []
    for email, row in batch.rows:
        reader_id = readers[addresses.key(email)]
        subscription_id, here = statuses[reader_id]
        if reader_id in created:
            created.discard(reader_id)  # a later row of the same address finds it made
            report.created += 1
        else:
            result = outcome(here, row.status)
            if result is Outcome.UNCHANGED:
                report.unchanged += 1
                continue
            if result is Outcome.KEPT_OPTED_OUT:
                report.kept_opted_out += 1
                continue
            statuses[reader_id] = (subscription_id, row.status)
            moves = confirms if row.status is SubscriptionStatus.CONFIRMED else opt_outs
            moves[subscription_id] = _move(subscription_id, row, batch.now)
            if language := batch.language or row.language:
                languages[subscription_id] = {
                    "target_id": subscription_id,
                    "new_language": language,
                }
            report.updated += 1
        events.append(_event(subscription_id, batch))
    # A subscription confirmed and then opted out in one batch ends opted out, with the
    # confirmation's evidence: confirmations first (an opted-out one is never confirmed).
    for statement, moves in ((CONFIRM, confirms), (OPT_OUT, opt_outs), (SET_LANGUAGE, languages)):
        if moves:
            session.execute(statement, list(moves.values()))
    if events:
        session.execute(INSERT_EVENTS, events)


def _readers(session: Session, batch: Batch) -> dict[str, int]:
    """The reader id of each address key of the batch, making the readers not yet here.

    A new reader keeps the spelling of the address's first row, and its signup time.
    """
    first: dict[str, dict] = {}
    for email, row in batch.rows:
        key = addresses.key(email)
        if key not in first:
            at = row.signup_at or batch.now
            first[key] = {"email": email, "email_key": key, "created_at": at}
    ids = _ids_of(session, first.keys())
    missing = [values for key, values in first.items() if key not in ids]
    if missing:
        session.execute(_insert(session, READERS, "email_key"), missing)
        ids |= _ids_of(session, [values["email_key"] for values in missing])
    return ids


def _ids_of(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """The ids of the readers of these address keys (those that exist)."""
    found = session.execute(
        select(READERS.c.email_key, READERS.c.id).where(READERS.c.email_key.in_(list(keys)))
    )
    return {key: id_ for key, id_ in found}


def _locked_subscriptions(
    session: Session, newsletter_id: int, reader_ids: Iterable[int]
) -> dict[int, tuple[int, SubscriptionStatus]]:
    """The id and status of these readers' subscriptions to the newsletter, by reader id,
    locked until the batch's commit (PostgreSQL; SQLite's writer holds the whole file)."""
    found = session.execute(
        select(SUBSCRIPTIONS.c.reader_id, SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.status)
        .where(
            SUBSCRIPTIONS.c.newsletter_id == newsletter_id,
            SUBSCRIPTIONS.c.reader_id.in_(list(reader_ids)),
        )
        .with_for_update()
    )
    return {reader_id: (id_, status) for reader_id, id_, status in found}


def _create_subscriptions(
    session: Session,
    batch: Batch,
    readers: dict[str, int],
    statuses: dict[int, tuple[int, SubscriptionStatus]],
) -> set[int]:
    """Make the subscriptions of readers who have none, each from the reader's first row in
    the batch, adding them to ``statuses``; the readers whose subscription this made."""
    new: dict[int, dict] = {}
    for email, row in batch.rows:
        reader_id = readers[addresses.key(email)]
        if reader_id not in statuses and reader_id not in new:
            new[reader_id] = _new_subscription(batch, reader_id, row)
    if not new:
        return set()
    session.execute(
        _insert(session, SUBSCRIPTIONS, "newsletter_id", "reader_id"), list(new.values())
    )
    # Ours are those with the public id this import gave them (the batch's transaction
    # holds them: no lock to take). A signup of the same address between the SELECT and
    # the INSERT won the others: they are locked and taken as they are.
    found = session.execute(
        select(SUBSCRIPTIONS.c.reader_id, SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.public_id).where(
            SUBSCRIPTIONS.c.newsletter_id == batch.target.id,
            SUBSCRIPTIONS.c.reader_id.in_(list(new)),
        )
    )
    made = set()
    for reader_id, subscription_id, public_id in found:
        if public_id == new[reader_id]["public_id"]:
            made.add(reader_id)
            statuses[reader_id] = (subscription_id, new[reader_id]["status"])
    if lost := new.keys() - made:
        statuses |= _locked_subscriptions(session, batch.target.id, lost)
    return made


def _new_subscription(batch: Batch, reader_id: int, row: SourceRow) -> dict:
    """The columns of a subscription made by an import: the source's evidence, where it
    has some; the import's time where it has none."""
    signed_up = row.signup_at or batch.now
    evidence = {"confirmed_at": None, "confirmed_ip": None, "unsubscribed_at": None}
    evidence |= _status_evidence(row, batch.now)
    return {
        "public_id": new_public_id(),
        "newsletter_id": batch.target.id,
        "reader_id": reader_id,
        "status": row.status,
        "created_at": signed_up,
        "signup_at": signed_up,
        "signup_ip": row.signup_ip,
        "source": row.source or IMPORT_SOURCE,
        "source_url": row.source_url,
        "language": batch.language or row.language or batch.target.language,
        **evidence,
    }


def _status_evidence(row: SourceRow, now: datetime) -> dict:
    """When (and from where) the row's status was reached, for its columns."""
    if row.status is SubscriptionStatus.CONFIRMED:
        return {"confirmed_at": row.confirmed_at or now, "confirmed_ip": row.confirmed_ip}
    if row.status.opted_out:
        return {
            "confirmed_at": row.confirmed_at,
            "confirmed_ip": row.confirmed_ip,
            "unsubscribed_at": row.unsubscribed_at or now,
        }
    return {}


def _move(subscription_id: int, row: SourceRow, now: datetime) -> dict:
    """The parameters of the UPDATE that moves a subscription to the row's status."""
    evidence = {f"new_{name}": value for name, value in _status_evidence(row, now).items()}
    if row.status is SubscriptionStatus.CONFIRMED:
        return {"target_id": subscription_id, "new_status": row.status, **evidence}
    return {
        "target_id": subscription_id,
        "new_status": row.status,
        "new_unsubscribed_at": evidence["new_unsubscribed_at"],
    }


def _event(subscription_id: int, batch: Batch) -> dict:
    """The history event of a subscription the import created or moved."""
    return {
        "subscription_id": subscription_id,
        "kind": EventKind.IMPORTED,
        "occurred_at": batch.now,
        "ip": None,
        "user_agent": None,
        "detail": batch.detail,
    }


def _insert(session: Session, table: Table, *unique_columns: str) -> Insert:
    """The table's ``INSERT … ON CONFLICT DO NOTHING`` for the session's database."""
    return insert_ignoring_conflicts(session.get_bind().dialect.name, table, unique_columns)
