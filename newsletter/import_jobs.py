"""Imports uploaded through the admin: stored as a job, run by a worker, reported on the job.

The upload request only stores: the file goes into ``import_job_chunk`` rows of
``CHUNK_BYTES`` each, read from the upload a chunk at a time, and the options into an
``import_job`` row. A web process may be one of several, on several machines, and a
request is cut off at the server's timeout: the import itself runs in a worker
(``newsletter.import_worker``), through the same :func:`newsletter.importing.import_file`
as ``newsletter import``, reading the chunks back through :class:`ChunkFile`.

A job is a queue row claimed under a lease (``newsletter.db.leases``, as the mail
outbox's): ``queued``, then ``sending`` while a worker runs it (its progress written after
each batch, which renews the lease), then ``sent`` with its report, or ``failed`` with the
reason in words. Its chunks are deleted when it ends. If the worker dies, another takes
the job over once the lease has run out and runs the file again from the start: an import
is idempotent, so the rows already applied come out unchanged.
"""

import io
import json
from dataclasses import asdict
from datetime import datetime
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import sessionmaker

from newsletter import import_formats
from newsletter.db.base import Base
from newsletter.db.leases import claim as claim_rows
from newsletter.db.types import UTCDateTime
from newsletter.db.types import utcnow
from newsletter.import_batch import Report
from newsletter.importing import ImportOptions
from newsletter.models import ADDRESS_LENGTH
from newsletter.models import Newsletter
from newsletter.models import OutboxStatus
from newsletter.models import _string_enum

CHUNK_BYTES = 1024 * 1024
# A job whose worker died this many times (each after a lease ran out) is given up on.
MAX_ATTEMPTS = 3
FILE_NAME_LENGTH = 255
COLUMN_LENGTH = 200


class ImportJob(Base):
    """One uploaded file to import into a newsletter, with its options, progress and end."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    file_name: Mapped[str] = mapped_column(String(FILE_NAME_LENGTH))
    dry_run: Mapped[bool] = mapped_column(default=False)
    email_column: Mapped[str | None] = mapped_column(String(COLUMN_LENGTH))
    status_column: Mapped[str | None] = mapped_column(String(COLUMN_LENGTH))
    status_map: Mapped[str | None] = mapped_column(Text)  # as typed: subscribed=confirmed,…
    language: Mapped[str | None] = mapped_column(String(8))
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # The queue's columns (newsletter.db.leases): sending is running, sent is done.
    status: Mapped[OutboxStatus] = mapped_column(
        _string_enum(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[str | None] = mapped_column(Text)  # JSON of the importing.Report
    error: Mapped[str | None] = mapped_column(Text)

    newsletter: Mapped[Newsletter] = relationship()

    def options(self) -> ImportOptions:
        """The options ``import_file`` takes, as the editor gave them."""
        return ImportOptions(
            file_name=self.file_name,
            by=self.created_by,
            email_column=self.email_column,
            status_column=self.status_column,
            status_map=import_formats.parse_status_map(self.status_map),
            dry_run=self.dry_run,
            language=self.language,
        )

    def finished_report(self) -> Report | None:
        """The report of a finished job."""
        if self.report is None:
            return None
        fields = json.loads(self.report)
        fields["skipped_lines"] = [tuple(pair) for pair in fields["skipped_lines"]]
        return Report(**fields)


class ImportJobChunk(Base):
    """A piece of a job's file, in order; deleted when the job ends."""

    __tablename__ = "import_job_chunk"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_job.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def store(session: Session, newsletter: Newsletter, upload: BinaryIO, **options) -> ImportJob:
    """A queued job for ``upload``, read and stored a chunk at a time; ``options`` are the
    job's columns (file_name, created_by, dry_run, email_column, …)."""
    job = ImportJob(newsletter_id=newsletter.id, **options)
    session.add(job)
    session.flush()
    total = 0
    seq = 0
    while data := upload.read(CHUNK_BYTES):
        session.execute(insert(ImportJobChunk).values(job_id=job.id, seq=seq, data=data))
        total += len(data)
        seq += 1
    job.total_bytes = total
    return job


def get(session: Session, newsletter: Newsletter, job_id: int) -> ImportJob | None:
    """A job of this newsletter, or None."""
    job = session.get(ImportJob, job_id)
    return job if job is not None and job.newsletter_id == newsletter.id else None


def claim(session: Session, lease: timedelta) -> int | None:
    """Take the oldest job waiting (or whose worker's lease ran out): its id, or None."""
    now = utcnow()
    claimed = claim_rows(
        session,
        ImportJob,
        [ImportJob.id],
        limit=1,
        now=now,
        due_by=now,
        lease=lease,
        only=[ImportJob.attempts < MAX_ATTEMPTS],
    )
    return claimed[0].id if claimed else None


def give_up_on_stale(session: Session) -> int:
    """Fail the jobs whose workers died on them ``MAX_ATTEMPTS`` times; how many."""
    stale = session.scalars(
        select(ImportJob.id).where(
            ImportJob.status == OutboxStatus.SENDING,
            ImportJob.attempts >= MAX_ATTEMPTS,
            ImportJob.claimed_until < utcnow(),
        )
    ).all()
    for job_id in stale:
        fail(session, job_id, "The import stopped with its worker each time it was tried.")
    return len(stale)


def record_progress(session: Session, job_id: int, done_bytes: int, lease: timedelta) -> None:
    """How far the worker has read the file; the claim is renewed with it."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(done_bytes=done_bytes, claimed_until=utcnow() + lease)
    )


def finish(session: Session, job_id: int, report: Report) -> None:
    """The job is done: its report kept, its file deleted."""
    _end(session, job_id, OutboxStatus.SENT, report=json.dumps(asdict(report)))


def fail(session: Session, job_id: int, error: str) -> None:
    """The job stopped: why, in words; its file deleted."""
    _end(session, job_id, OutboxStatus.FAILED, error=error)


def _end(session: Session, job_id: int, status: OutboxStatus, **values: str) -> None:
    """Set the job's end, and delete its file. A job ends once: a worker whose claim ran
    out while it was still running does not overwrite the end another worker gave it."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == OutboxStatus.SENDING)
        .values(status=status, finished_at=utcnow(), claimed_until=None, **values)
    )
    session.execute(delete(ImportJobChunk).where(ImportJobChunk.job_id == job_id))


class ChunkFile(io.RawIOBase):
    """A job's file read back from its chunks, one chunk in memory at a time (seekable:
    ``import_file`` reads it twice). Each chunk is read in a short session of its own."""

    def __init__(self, sessions: sessionmaker, job_id: int, size: int) -> None:
        super().__init__()
        self.sessions = sessions
        self.job_id = job_id
        self.size = size
        self.position = 0
        self.chunk: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        """Copy from the chunk the position is in (fetched if it is not the one held)."""
        if self.position >= self.size:
            return 0
        seq, offset = divmod(self.position, CHUNK_BYTES)
        if self.chunk[0] != seq:
            with self.sessions() as session:
                data = session.scalars(
                    select(ImportJobChunk.data).where(
                        ImportJobChunk.job_id == self.job_id, ImportJobChunk.seq == seq
                    )
                ).one()
            self.chunk = (seq, data)
        piece = self.chunk[1][offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


def open_file(sessions: sessionmaker, job: ImportJob) -> BinaryIO:
    """The job's file, buffered (``import_file`` reads it in small pieces)."""
    return io.BufferedReader(ChunkFile(sessions, job.id, job.total_bytes), CHUNK_BYTES)
