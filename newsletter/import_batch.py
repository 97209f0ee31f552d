"""One batch of an import's rows applied with a few statements, whatever its length.

Per batch, not per row (a million rows are two hundred batches): one ``SELECT … IN``
finds the readers the batch's addresses already have, one ``INSERT … SELECT … ON CONFLICT
DO NOTHING RETURNING`` makes the others and gives their ids (a concurrent signup of the
same address wins, as a signup's would: its reader is found by one more ``SELECT``); a
locking ``SELECT … IN … FOR UPDATE`` finds the subscriptions to the newsletter they have,
the same ``INSERT`` makes the others, then one ``UPDATE`` statement per kind of move and
one ``INSERT`` of the history events. No ORM object is made, nor any SQLAlchemy
statement: the statements are SQL text given to the driver with plain tuples
(``newsletter.import_sql``).

The rows are then decided in file order against the statuses held in memory, so an
address twice in a batch ends as it would one row at a time: what each row does is
:func:`outcome` (the table in ``newsletter.importing``).
"""

import enum
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import Connection

from newsletter import addresses
from newsletter.import_formats import SourceRow
from newsletter.import_sql import EVENT_COLUMNS
from newsletter.import_sql import READER_COLUMNS
from newsletter.import_sql import SUBSCRIPTION_COLUMNS
from newsletter.import_sql import BatchSql
from newsletter.models import EventKind
from newsletter.models import SubscriptionStatus
from newsletter.models import new_public_ids

# The report lists this many skipped lines; past it, it counts them (constant memory).
SKIPPED_LISTED = 1000
IMPORT_SOURCE = "import"  # the subscription's ``source`` when the file names none
# The columns each kind of move sets (parameters: these, then the subscription's id).
CONFIRM = ("status", "confirmed_at", "confirmed_ip")
OPT_OUT = ("status", "unsubscribed_at")
SET_LANGUAGE = ("language",)
# Model defaults a Core INSERT would fill in.
FIRST_ROUND = 1
NO_SOFT_BOUNCES = 0


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


def apply(connection: Connection, batch: Batch, report: Report) -> None:
    """Apply the batch on the connection, in its transaction, counting each row in the
    report."""
    sql = BatchSql(connection)
    keys = [addresses.key(email) for email, _row in batch.rows]
    readers = _readers(sql, batch, keys)
    statuses = _locked_subscriptions(sql, batch.target.id, set(readers.values()))
    created = _create_subscriptions(sql, batch, [readers[key] for key in keys], statuses)
    confirms: dict[int, tuple] = {}
    opt_outs: dict[int, tuple] = {}
    languages: dict[int, tuple] = {}
    events: list[tuple] = []
    event = (EventKind.IMPORTED.value, sql.time(batch.now), None, None, batch.detail)
    for key, (_email, row) in zip(keys, batch.rows, strict=True):
        reader_id = readers[key]
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
            moves[subscription_id] = _move(sql, subscription_id, row, batch.now)
            if language := batch.language or row.language:
                languages[subscription_id] = (language, subscription_id)
            report.updated += 1
        events.append((subscription_id, *event))
    # A subscription confirmed and then opted out in one batch ends opted out, with the
    # confirmation's evidence: confirmations first (an opted-out one is never confirmed).
    for statement, moves in ((CONFIRM, confirms), (OPT_OUT, opt_outs), (SET_LANGUAGE, languages)):
        sql.many(sql.update("subscription", statement), list(moves.values()))
    sql.append("subscription_event", EVENT_COLUMNS, events)


def _readers(sql: BatchSql, batch: Batch, keys: list[str]) -> dict[str, int]:
    """The reader id of each address key of the batch, making the readers not yet here.

    A new reader keeps the spelling of the address's first row, and its signup time.
    """
    first: dict[str, tuple[str, SourceRow]] = {}
    for key, (email, row) in zip(keys, batch.rows, strict=True):
        first.setdefault(key, (email, row))
    ids = sql.reader_ids(first.keys())
    new = [(key, email, row) for key, (email, row) in first.items() if key not in ids]
    missing = [
        (public_id, email, key, sql.time(row.signup_at or batch.now))
        for public_id, (key, email, row) in zip(new_public_ids(len(new)), new, strict=True)
    ]
    ids |= dict(sql.insert_new("reader", READER_COLUMNS, missing, "email_key", "email_key, id"))
    # A concurrent signup made the readers of the keys still missing.
    if taken := [key for key, _email, _row in new if key not in ids]:
        ids |= sql.reader_ids(taken)
    return ids


def _locked_subscriptions(
    sql: BatchSql, newsletter_id: int, reader_ids: Collection[int]
) -> dict[int, tuple[int, SubscriptionStatus]]:
    """The id and status of these readers' subscriptions to the newsletter, by reader id,
    locked until the batch's commit (PostgreSQL; SQLite's writer holds the whole file)."""
    found = sql.subscriptions(newsletter_id, reader_ids)
    return {reader_id: (id_, SubscriptionStatus(status)) for reader_id, id_, status in found}


def _create_subscriptions(
    sql: BatchSql,
    batch: Batch,
    reader_ids: list[int],
    statuses: dict[int, tuple[int, SubscriptionStatus]],
) -> set[int]:
    """Make the subscriptions of readers who have none, each from the reader's first row in
    the batch (``reader_ids`` are the rows' readers), adding them to ``statuses``; the
    readers whose subscription this made."""
    first: dict[int, SourceRow] = {}
    for reader_id, (_email, row) in zip(reader_ids, batch.rows, strict=True):
        if reader_id not in statuses:
            first.setdefault(reader_id, row)
    new = {
        reader_id: _new_subscription(sql, batch, public_id, reader_id, row)
        for public_id, (reader_id, row) in zip(
            new_public_ids(len(first)), first.items(), strict=True
        )
    }
    key = "newsletter_id, reader_id"
    made = set()
    for reader_id, subscription_id in sql.insert_new(
        "subscription", SUBSCRIPTION_COLUMNS, list(new.values()), key, "reader_id, id"
    ):
        made.add(reader_id)
        statuses[reader_id] = (subscription_id, first[reader_id].status)
    # A signup of the same address between the SELECT and the INSERT won the others:
    # they are locked and taken as they are.
    if lost := new.keys() - made:
        statuses |= _locked_subscriptions(sql, batch.target.id, lost)
    return made


def _new_subscription(
    sql: BatchSql, batch: Batch, public_id: str, reader_id: int, row: SourceRow
) -> tuple:
    """The columns of a subscription made by an import (``SUBSCRIPTION_COLUMNS``): the
    source's evidence, where it has some; the import's time where it has none."""
    signed_up = sql.time(row.signup_at or batch.now)
    evidence = {"confirmed_at": None, "confirmed_ip": None, "unsubscribed_at": None}
    evidence |= _status_evidence(row, batch.now)
    return (
        public_id,
        batch.target.id,
        reader_id,
        row.status.value,
        signed_up,
        signed_up,
        row.signup_ip,
        row.source or IMPORT_SOURCE,
        row.source_url,
        batch.language or row.language or batch.target.language,
        sql.time(evidence["confirmed_at"]),
        evidence["confirmed_ip"],
        sql.time(evidence["unsubscribed_at"]),
        FIRST_ROUND,
        NO_SOFT_BOUNCES,
    )


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


def _move(sql: BatchSql, subscription_id: int, row: SourceRow, now: datetime) -> tuple:
    """The parameters of the UPDATE that moves a subscription to the row's status
    (``CONFIRM`` or ``OPT_OUT``'s columns, then the id)."""
    evidence = _status_evidence(row, now)
    if row.status is SubscriptionStatus.CONFIRMED:
        confirmed = (sql.time(evidence["confirmed_at"]), evidence["confirmed_ip"])
        return (row.status.value, *confirmed, subscription_id)
    return (row.status.value, sql.time(evidence["unsubscribed_at"]), subscription_id)
