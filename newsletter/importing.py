"""Importing a list from another provider (or from our own export) into one newsletter.

The file is read twice, in constant memory: once to check its encoding and take its
SHA-256 (``newsletter.import_formats``), then row by row through the stdlib's ``csv``,
applied in batches of ``IMPORT_BATCH_SIZE`` rows, one transaction each. A failure half-way
leaves every finished batch in place and nothing of the one it stopped in; since an
import is idempotent, running the file again completes it.

What a row does, by the subscription the address already has here:

=====================  ===================  =============================================
here                   the file says        then
=====================  ===================  =============================================
(none)                 any status           created with it and the source's evidence
the same status        —                    unchanged (nothing is written)
pending                confirmed            confirmed, with the source's evidence
pending or confirmed   unsubscribed or      moved there: an opt-out elsewhere is an
                       bounced              opt-out here too
confirmed              pending              unchanged (a confirmed reader stays confirmed)
unsubscribed/bounced   pending/confirmed    kept opted-out: no import makes a subscriber
                                            of someone who left or whose mail bounced
unsubscribed/bounced   the other one        moved there (never mailed either way)
=====================  ===================  =============================================

No email is sent: a confirmed row is confirmed because the source's double opt-in (its
times and IPs, kept as the subscription's evidence) says so. Each created or changed
subscription's history records the import: the format, the file's name and SHA-256, and
who ran it (an editor's address, or ``CLI``), and so does the audit trail, once per
import (not for a dry run), with the report's counts. Addresses are validated and normalised as
a signup's are (``addresses.normalize``); a row that fails is skipped, and the report
says its line and why. ``dry_run`` does all of it in one transaction rolled back at the
end, so its report is the real one.
"""

import csv
import hashlib
import io
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from itertools import islice
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import audit
from newsletter.access_models import AuditAction
from newsletter.db import database
from newsletter.db.sql import insert_unless_exists
from newsletter.db.types import utcnow
from newsletter.import_formats import Format
from newsletter.import_formats import InvalidRow
from newsletter.import_formats import SourceRow
from newsletter.import_formats import UnreadableFile
from newsletter.import_formats import check_encoding
from newsletter.import_formats import recognise
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions import Evidence
from newsletter.subscriptions import find_or_create_reader
from newsletter.subscriptions import record_event

# The report lists this many skipped lines; past it, it counts them (constant memory).
SKIPPED_LISTED = 1000
IMPORT_SOURCE = "import"  # the subscription's ``source`` when the file names none

__all__ = ["ImportOptions", "ImportStopped", "Report", "UnreadableFile", "import_file"]


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and who runs the import."""

    file_name: str
    by: str  # an editor's address, or "CLI"
    email_column: str | None = None
    status_column: str | None = None
    status_map: dict[str, SubscriptionStatus] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True)
class Target:
    """The newsletter imported into (our export names each row's by its slug)."""

    id: int
    slug: str


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


class ImportStopped(Exception):
    """The file broke off at a line (the rows before it are imported); says where and why."""


def import_file(
    newsletter: Newsletter,
    file: BinaryIO,
    options: ImportOptions,
    progress: Callable[[int], None] = lambda _done: None,
) -> Report:
    """Import a seekable binary ``file`` into ``newsletter``; ``on_progress`` gets the bytes
    read so far after each batch. :class:`UnreadableFile` before anything is written if the
    file can't be read; :class:`ImportStopped` if it breaks off half-way."""
    digest = hashlib.sha256()
    codec = check_encoding(file, digest.update)
    file.seek(0)
    report = Report(sha256=digest.hexdigest())
    text = io.TextIOWrapper(file, encoding=codec, newline="")
    try:
        records = csv.DictReader(text, restval="")
        _import_rows(newsletter, records, options, report, lambda: progress(file.tell()))
    finally:
        text.detach()  # the caller's file stays the caller's to close
    return report


def _import_rows(
    newsletter: Newsletter,
    records: csv.DictReader,
    options: ImportOptions,
    report: Report,
    after_batch: Callable[[], None],
) -> None:
    """Recognise the format by the header row, then apply the rows batch by batch."""
    header = records.fieldnames or []
    found = recognise(header, options.email_column, options.status_column, options.status_map)
    report.format = found.name
    detail = f"{found.name} file {options.file_name} sha256:{report.sha256} by {options.by}"
    batches = _batches(_numbered(records), current_app.config["IMPORT_BATCH_SIZE"])
    target = Target(newsletter.id, newsletter.slug)
    with _batch_sessions(options.dry_run) as batch_session:
        for batch in batches:
            with batch_session() as session:
                _apply(session, target, found, batch, detail, report)
            after_batch()
    if not options.dry_run:
        _on_the_record(target, options, report)


def _on_the_record(target: Target, options: ImportOptions, report: Report) -> None:
    """The import's audit entry: who, into which newsletter, the file, what it did."""
    with database().transaction() as session:
        audit.record(
            session,
            options.by,
            AuditAction.IMPORT,
            newsletter=target.slug,
            format=report.format,
            file=options.file_name,
            sha256=report.sha256,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            kept_opted_out=report.kept_opted_out,
            skipped=report.skipped,
        )


@contextmanager
def _batch_sessions(dry_run: bool) -> Iterator[Callable[[], AbstractContextManager[Session]]]:
    """What each batch runs in: a transaction of its own, or, dry, one session for all,
    closed without a commit (so rolled back) at the end."""
    db = database()
    if not dry_run:
        yield db.transaction
        return
    with db.writing_sessions() as session:

        @contextmanager
        def same_session() -> Iterator[Session]:
            yield session
            session.flush()
            session.expunge_all()  # constant memory, however long the file

        yield same_session


def _numbered(records: csv.DictReader) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    while True:
        line = records.line_num + 1
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportStopped(f"line {line}: {error}") from None
        yield line, record


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    """The rows in lists of ``size``."""
    while batch := list(islice(rows, size)):
        yield batch


def _apply(
    session: Session,
    target: Target,
    found: Format,
    batch: list[tuple[int, dict[str, str]]],
    detail: str,
    report: Report,
) -> None:
    """Apply one batch of rows, counting each in the report."""
    now = utcnow()
    for line, record in batch:
        try:
            row = found.read(record)
            email = _address(row.email)
        except (InvalidRow, addresses.InvalidAddress) as error:
            report.skip(line, str(error) or "invalid address")
            continue
        if row.newsletter not in (None, target.slug):
            report.skip(line, f"a row of another newsletter ({row.newsletter})")
            continue
        _apply_row(session, target.id, email, row, detail, report, now)


def _address(raw: str) -> str:
    """The normalised address, as a signup's; InvalidAddress says which text failed."""
    try:
        return addresses.normalize(raw)
    except addresses.InvalidAddress:
        raise addresses.InvalidAddress(f"invalid address {raw.strip()!r}") from None


def _apply_row(
    session: Session,
    newsletter_id: int,
    email: str,
    row: SourceRow,
    detail: str,
    report: Report,
    now: datetime,
) -> None:
    """Create or move one subscription as the module's table says."""
    reader = find_or_create_reader(session, email, at=row.signup_at or now)
    created = insert_unless_exists(
        session,
        Subscription,
        ["newsletter_id", "reader_id"],
        **_new_subscription(newsletter_id, reader.id, row, now),
    )
    subscription = session.scalars(
        select(Subscription)
        .where(Subscription.newsletter_id == newsletter_id, Subscription.reader_id == reader.id)
        .with_for_update()
    ).one()
    if created:
        report.created += 1
    elif subscription.status is row.status or (
        subscription.status is SubscriptionStatus.CONFIRMED
        and row.status is SubscriptionStatus.PENDING
    ):
        report.unchanged += 1
        return
    elif subscription.status.opted_out and not row.status.opted_out:
        report.kept_opted_out += 1
        return
    else:
        _move(subscription, row, now)
        report.updated += 1
    record_event(session, subscription, EventKind.IMPORTED, Evidence(), detail, at=now)


def _new_subscription(newsletter_id: int, reader_id: int, row: SourceRow, now: datetime) -> dict:
    """The columns of a subscription made by an import: the source's evidence, where it
    has some; the import's time where it has none."""
    signed_up = row.signup_at or now
    return {
        "newsletter_id": newsletter_id,
        "reader_id": reader_id,
        "status": row.status,
        "created_at": signed_up,
        "signup_at": signed_up,
        "signup_ip": row.signup_ip,
        "source": row.source or IMPORT_SOURCE,
        "source_url": row.source_url,
        **_status_evidence(row, now),
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


def _move(subscription: Subscription, row: SourceRow, now: datetime) -> None:
    """Move an existing subscription to the row's status, with the row's evidence of it."""
    subscription.status = row.status
    evidence = _status_evidence(row, now)
    if row.status is SubscriptionStatus.CONFIRMED:
        subscription.confirmed_at = evidence["confirmed_at"]
        subscription.confirmed_ip = evidence["confirmed_ip"]
    else:
        subscription.unsubscribed_at = evidence["unsubscribed_at"]
