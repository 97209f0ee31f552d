"""Importing a list from another provider (or from our own export) into one newsletter.

The file is read twice, in constant memory: once to check its encoding and take its
SHA-256 (``newsletter.import_formats``), then row by row through the stdlib's ``csv``,
applied in batches of ``IMPORT_BATCH_SIZE`` rows, one transaction each. A failure half-way
leaves every finished batch in place and nothing of the one it stopped in; since an
import is idempotent, running the file again completes it.

What a row does, by the subscription the address already has here
(``import_batch.outcome``):

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
unsubscribed           bounced              moved there (never mailed either way)
bounced                unsubscribed         unchanged: an import never undoes a bounce
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
import gc
import hashlib
import io
import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from itertools import islice
from typing import BinaryIO

from flask import current_app
from sqlalchemy import Connection

from newsletter import addresses
from newsletter import audit
from newsletter import import_batch
from newsletter.access_models import AuditAction
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.import_batch import Batch
from newsletter.import_batch import Report
from newsletter.import_batch import Target
from newsletter.import_formats import Format
from newsletter.import_formats import InvalidRow
from newsletter.import_formats import UnreadableFile
from newsletter.import_formats import check_encoding
from newsletter.import_formats import recognise
from newsletter.import_sql import fewer_checkpoints
from newsletter.models import Newsletter
from newsletter.models import SubscriptionStatus

log = logging.getLogger(__name__)

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
    language: str | None = None  # every imported subscription's, over the file's


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
    detail = import_record(found, options, report)
    batches = _batches(_numbered(records), current_app.config["IMPORT_BATCH_SIZE"])
    target = Target(newsletter.id, newsletter.slug, newsletter.language)
    with _collector_spared(), _batch_transactions(options.dry_run) as batch_transaction:
        for batch in batches:
            with batch_transaction() as connection:
                _apply(connection, target, found, batch, options, detail, report)
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
def _collector_spared() -> Iterator[None]:
    """Leave the objects alive before the rows are read (the app, its modules, what other
    threads hold) out of the cyclic garbage collector's passes until the import ends: its
    full passes over them, set off by the rows' many short-lived tuples, were a seventh of
    a million-row import. They are handed back to it at the end."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _batch_transactions(
    dry_run: bool,
) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
    """What each batch runs in: a transaction of its own or, dry, one for all, rolled back
    at the end; all on one connection, on which SQLite checkpoints its log less often
    (``import_sql.fewer_checkpoints``)."""
    with database().writer.connect() as connection, fewer_checkpoints(connection):
        if not dry_run:
            yield lambda: _transaction(connection)
            return
        with connection.begin() as everything:
            yield lambda: nullcontext(connection)
            everything.rollback()


@contextmanager
def _transaction(connection: Connection) -> Iterator[Connection]:
    """The connection in a transaction: committed on success, else rolled back."""
    with connection.begin():
        yield connection


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
    connection: Connection,
    target: Target,
    found: Format,
    records: list[tuple[int, dict[str, str]]],
    options: ImportOptions,
    detail: str,
    report: Report,
) -> None:
    """Read and check one batch of records (skipping bad ones, with their lines), then
    apply the valid rows together."""
    rows = []
    for line, record in records:
        try:
            row = found.read(record)
            email = _address(row.email)
        except (InvalidRow, addresses.InvalidAddress) as error:
            report.skip(line, str(error) or "invalid address")
            continue
        if row.newsletter not in (None, target.slug):
            report.skip(line, f"a row of another newsletter ({row.newsletter})")
            continue
        rows.append((email, row))
    if rows:
        batch = Batch(target, rows, detail, options.language, utcnow())
        import_batch.apply(connection, batch, report)


def _address(raw: str) -> str:
    """The normalised address, as a signup's; InvalidAddress says which text failed."""
    try:
        return addresses.normalize(raw)
    except addresses.InvalidAddress:
        raise addresses.InvalidAddress(f"invalid address {raw.strip()!r}") from None


def import_record(found: Format, options: ImportOptions, report: Report) -> str:
    """The import's record of itself, who ran it on which file: the ``detail`` of each
    history event it writes, and the one line it logs (no address in it)."""
    detail = f"{found.name} file {options.file_name} sha256:{report.sha256} by {options.by}"
    log.info("import%s: %s", " (dry run)" if options.dry_run else "", detail)
    return detail
