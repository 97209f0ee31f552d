"""Running the imports uploaded through the admin (``newsletter.import_jobs``).

An import of a large file takes minutes, so it runs in a thread of its own beside the
mail worker's loop (``newsletter worker`` and ``newsletter serve`` start both): signups
and mail keep flowing meanwhile. Each thread runs one job at a time; several workers
take different jobs.

Progress (the bytes read) is written after each batch, in a transaction of its own,
renewing the claim. A dry run writes none until its report: its batches share one
transaction, which on SQLite holds the write lock to the end.
"""

import logging
import threading
from datetime import timedelta

from flask import Flask

from newsletter import import_jobs
from newsletter import importing
from newsletter.db import database
from newsletter.db.engine import Database
from newsletter.import_jobs import ImportJob

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
UNEXPECTED = (
    "The import stopped on an unexpected error (the server's log says which). The batches "
    "before it were applied: upload the file again to complete it."
)


class ImportRunner:
    """Claims uploaded imports and runs them through ``importing.import_file``."""

    def __init__(self, app: Flask, db: Database, lease: timedelta) -> None:
        self.app = app
        self.db = db
        self.lease = lease

    @classmethod
    def for_app(cls, app: Flask) -> "ImportRunner":
        """A runner configured from the app's settings."""
        return cls(app, database(app), timedelta(seconds=app.config["IMPORT_LEASE_SECONDS"]))

    def run_one(self) -> bool:
        """Claim one job (a waiting one, or one whose worker died) and run it to its end;
        whether there was one."""
        with self.db.transaction() as session:
            import_jobs.give_up_on_stale(session)
            job_id = import_jobs.claim(session, self.lease)
        if job_id is None:
            return False
        with self.app.app_context():
            self._run(job_id)
        return True

    def drain(self) -> int:
        """Run every job waiting; how many ran."""
        count = 0
        while self.run_one():
            count += 1
        return count

    def run(self, stop: threading.Event, poll_seconds: float = POLL_SECONDS) -> None:
        """Run jobs until ``stop`` is set, polling while there are none."""
        while not stop.is_set():
            try:
                busy = self.run_one()
            except Exception:
                log.exception("Running an import failed; trying again shortly")
                busy = False
            if not busy:
                stop.wait(poll_seconds)

    def _run(self, job_id: int) -> None:
        """Import the job's file; record its report, or why it stopped."""
        with self.db.reading_sessions() as session:
            job = session.get_one(ImportJob, job_id)
            newsletter = job.newsletter
        log.info("Running import job %s (%s bytes)", job_id, job.total_bytes)
        try:
            with import_jobs.open_file(self.db.reading_sessions, job) as file:
                report = importing.import_file(newsletter, file, job.options(), self._progress(job))
        except (importing.UnreadableFile, importing.ImportStopped) as error:
            # What the command line says too: what is wrong with the file, in words.
            self._end(import_jobs.fail, job_id, str(error))
            return
        except Exception:
            log.exception("Import job %s failed", job_id)
            self._end(import_jobs.fail, job_id, UNEXPECTED)
            return
        self._end(import_jobs.finish, job_id, report)

    def _progress(self, job: ImportJob):
        """What ``import_file`` calls after each batch: the bytes read, written down."""
        if job.dry_run:
            return lambda _done: None

        def record(done: int) -> None:
            with self.db.transaction() as session:
                import_jobs.record_progress(session, job.id, done, self.lease)

        return record

    def _end(self, end, job_id: int, outcome) -> None:
        with self.db.transaction() as session:
            end(session, job_id, outcome)


def start_background_importer(app: Flask) -> threading.Event:
    """Run uploaded imports from a daemon thread; set the returned event to stop."""
    stop = threading.Event()
    runner = ImportRunner.for_app(app)
    threading.Thread(target=runner.run, args=(stop,), name="importer", daemon=True).start()
    return stop
