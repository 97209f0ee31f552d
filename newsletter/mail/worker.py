"""The worker: apply recorded signups (and manage-link requests), then deliver the outbox,
then the webhook events; one connection while busy.

Applying a signup queues its confirmation in the outbox (``newsletter.signup_requests``),
so each round first applies a batch of signups, then claims a batch of mail (one
statement), sends it over one SMTP connection, and marks what the server accepted sent,
in one statement after the server's last answer (a refusal is recorded as it comes).

The crash window: a worker that dies (SIGKILL, power) after the server accepted some of
its batch and before that one statement committed leaves those messages claimed; they go
out again when the lease (``NEWSLETTER_MAIL_LEASE_SECONDS``) runs out. At most one batch
(``BATCH_SIZE``, 50 messages) is sent twice. The window lasts the batch's SMTP dialogue
and the mark: measured to the benchmarks' sink on a loaded machine, median 0.12 s on
SQLite and 0.28 s on PostgreSQL, at most 0.9 s (benchmarks/RESULTS.md, "Issue 17: mail
and export pass"); a slow mail server lengthens it, never the count. Marking each
message in its own transaction before the next send made the window one message, and
cost a commit per message: most of the worker's own time.
"""

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from flask import Flask
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from newsletter import addresses
from newsletter import manage_link_requests
from newsletter import signup_requests
from newsletter.db import database
from newsletter.db.engine import Database
from newsletter.db.types import utcnow
from newsletter.mail import dkim
from newsletter.mail import outbox
from newsletter.mail import transports
from newsletter.mail.transports import DeliveryError
from newsletter.mail.transports import Transport
from newsletter.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

BATCH_SIZE = 50
POLL_SECONDS = 1.0
# While the database is unreachable, recording a delivery is tried again this often.
RECORD_RETRY_SECONDS = 0.5
# ... for at most this share of the lease: past it another worker may claim the message.
RECORD_LEASE_SHARE = 0.8
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)


class Worker:
    """One signup-and-delivery loop; any number may run at once against the same database."""

    def __init__(
        self,
        app: Flask,
        db: Database,
        transport: Transport,
        *,
        max_attempts: int,
        retry_base_seconds: float,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = outbox.LEASE,
        webhooks: WebhookSender,
        signer: dkim.Signer | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.transport = transport
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.batch_size = batch_size
        self.lease = lease
        self.signer = signer
        self.webhooks = webhooks

    @classmethod
    def for_app(cls, app: Flask) -> "Worker":
        """A worker configured from the app's settings."""
        return cls(
            app,
            database(app),
            transports.from_url(app.config["MAIL_URL"], app.instance_path),
            max_attempts=app.config["MAIL_MAX_ATTEMPTS"],
            retry_base_seconds=app.config["MAIL_RETRY_BASE_SECONDS"],
            lease=timedelta(seconds=app.config["MAIL_LEASE_SECONDS"]),
            signer=app.extensions["dkim_signer"],
            webhooks=WebhookSender.for_app(app),
        )

    def apply_signups(self) -> int:
        """Apply one batch of recorded signups, queueing their confirmations, and one of
        manage-link requests, queueing the links to readers; how many in all."""
        with self.app.app_context(), self.db.transaction() as session:
            return signup_requests.apply_pending(
                session, self.batch_size
            ) + manage_link_requests.apply_pending(session, self.batch_size)

    def deliver_batch(self, due_by: datetime | None = None) -> int:
        """Claim and send one batch; returns how many messages were claimed."""
        leased_until = time.monotonic() + self.lease.total_seconds() * RECORD_LEASE_SHARE
        with self.db.transaction() as session:
            batch = outbox.claim(session, self.batch_size, due_by, self.lease)
        if not batch:
            return 0
        for envelope in batch:
            if envelope.suppressed:
                log.info(
                    "Queued message %s not sent: its address bounced or complained", envelope.id
                )
        to_send = [envelope for envelope in batch if not envelope.suppressed]
        if not to_send:
            return len(batch)
        sent: list[outbox.Envelope] = []
        try:
            with self.transport.connection() as send:
                for envelope in to_send:
                    try:
                        send(self._signed(envelope))
                    except DeliveryError as error:
                        self._record_failure(envelope, error)
                    else:
                        sent.append(envelope)
        except DeliveryError as error:
            # No connection could be opened: every message of the batch waits for a retry.
            for envelope in to_send:
                self._record_failure(envelope, error)
        finally:
            # Whatever ended the batch, what the server accepted is recorded as sent.
            self._record_sent(sent, leased_until)
        return len(batch)

    def deliver_webhooks(self, due_by: datetime | None = None) -> int:
        """Send one batch of webhook events due by ``due_by`` (default: now); how many were
        claimed."""
        return self.webhooks.deliver_batch(due_by=due_by)

    def drain(self) -> int:
        """Apply every recorded signup, then deliver what was due by then; returns how many
        messages were tried.

        A message that fails now is not retried in the same drain, even when its retry is
        due at once, and signups or mail arriving meanwhile wait for the next run:
        ``--once`` ends.
        """
        applied = 0
        while count := self.apply_signups():
            applied += count
        if applied:
            log.info("Applied %s recorded request(s): signups, manage links", applied)
        started = utcnow()
        total = 0
        try:
            while count := self.deliver_batch(started):
                total += count
        finally:
            self.transport.close()
        # Events that fail now wait for their retry: each is claimed once per drain.
        while self.deliver_webhooks(started):
            pass
        return total

    def run(self, stop: threading.Event, poll_seconds: float = POLL_SECONDS) -> None:
        """Apply signups and deliver until ``stop`` is set, polling when both queues are empty."""
        while not stop.is_set():
            busy = 0
            # Each step on its own: signups that cannot be applied must not stop the mail.
            for step in (self.apply_signups, self.deliver_batch, self.deliver_webhooks):
                try:
                    busy += step()
                except Exception:
                    log.exception("%s failed; trying again shortly", step.__name__)
            if not busy:
                # Both queues are empty: no connection is held open while waiting.
                self.transport.close()
                stop.wait(poll_seconds)
        self.transport.close()

    def _signed(self, envelope: outbox.Envelope) -> outbox.Envelope:
        """The envelope with its message DKIM-signed, when a key is configured."""
        if self.signer is None:
            return envelope
        return replace(envelope, raw=self.signer.sign(envelope.raw))

    def _record_sent(self, sent: list[outbox.Envelope], leased_until: float) -> None:
        """Mark the batch's accepted messages sent in one statement (and delete those, and
        the transport's copies, of a kind the queue must forget), trying again while the
        database is down and the claim holds.

        A delivery that is not recorded goes out again once its lease runs out: a database
        restart right after a send would otherwise give the reader the message twice.
        """
        if not sent:
            return
        forgotten = [envelope for envelope in sent if envelope.kind in outbox.FORGOTTEN_KINDS]
        kept = [envelope.id for envelope in sent if envelope not in forgotten]
        while True:
            try:
                with self.db.transaction() as session:
                    outbox.mark_sent(session, kept)
                    outbox.forget(session, [envelope.id for envelope in forgotten])
                break
            except DATABASE_DOWN:
                if time.monotonic() + RECORD_RETRY_SECONDS >= leased_until:
                    raise
                log.warning(
                    "Database unavailable; recording the delivery of queued message(s) %s again",
                    ", ".join(str(envelope.id) for envelope in sent),
                )
                time.sleep(RECORD_RETRY_SECONDS)
        if forgotten:
            # Nor a copy in SQLite's WAL, nor the .eml file the file transport wrote.
            self.db.checkpoint()
            for envelope in forgotten:
                self.transport.forget(envelope.recipient)

    def _record_failure(self, envelope: outbox.Envelope, error: DeliveryError) -> None:
        """Log without the address, and reschedule or give up on the message."""
        kind = "permanent" if error.permanent else "temporary"
        reason = addresses.mask(str(error))
        log.warning("Delivery of queued message %s failed (%s): %s", envelope.id, kind, reason)
        with self.db.transaction() as session:
            outbox.mark_failed_attempt(
                session,
                envelope.id,
                str(error),
                permanent=error.permanent,
                max_attempts=self.max_attempts,
                retry_base_seconds=self.retry_base_seconds,
            )


def start_background_sender(app: Flask) -> threading.Event:
    """Apply signups and deliver mail from a daemon thread; set the returned event to stop."""
    stop = threading.Event()
    worker = Worker.for_app(app)
    threading.Thread(target=worker.run, args=(stop,), name="mail-sender", daemon=True).start()
    return stop
