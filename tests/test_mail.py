"""Mail delivery: the outbox, the SMTP transport, retries, several workers, the file transport.

Messages are queued in the signup's transaction and delivered by ``newsletter worker``:
through the CLI runner here, and as real ``newsletter worker --once`` processes where
several workers share one PostgreSQL database.
"""

import asyncio
import logging
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from newsletter import subscriptions as lifecycle
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.mail import outbox
from newsletter.mail.outbox import MAX_BACKOFF
from newsletter.mail.outbox import backoff
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import OutboxStatus
from newsletter.models import SubscriptionStatus
from newsletter.newsletters import get_by_slug
from tests.conftest import free_port
from tests.conftest import postgresql_only
from tests.mailbox import Mailbox
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.reader import text_part
from tests.workers import WORKER_TIMEOUT_SECONDS
from tests.workers import run_workers

# Less than the transport's SMTP timeout (30 s): a lone worker's message still goes out.
MEETING_TIMEOUT_SECONDS = 20
POLL_SECONDS = 0.01


def outbox_rows(app) -> list[OutboxMessage]:
    """Every queued message, oldest first, as the database holds it."""
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def newsletter_name(app) -> str:
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(select(Newsletter.name).where(Newsletter.slug == SLUG)).one()


class RefusingMailbox(Mailbox):
    """An SMTP server that knows no such user: every RCPT gets a permanent 550."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.refused: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        self.refused.append(address)
        return "550 5.1.1 No such user"


@pytest.fixture
def offline_mailbox(settings):
    """An SMTP server that is not running yet; the app is configured to send to it."""
    offline = Mailbox(port=free_port())
    settings["MAIL_URL"] = offline.url
    yield offline
    offline.stop()


@pytest.fixture
def refusing_mailbox(settings):
    """A running SMTP server that refuses every recipient; the app sends to it."""
    refusing = RefusingMailbox(port=free_port())
    refusing.start()
    settings["MAIL_URL"] = refusing.url
    yield refusing
    refusing.stop()


@pytest.fixture
def resend_at_once(settings):
    """No resend throttle: every signup of a pending address queues a confirmation."""
    settings["CONFIRMATION_RESEND_INTERVAL"] = 0


@pytest.fixture
def slow_retries(settings):
    """Retries wait 30 seconds and more, as in production."""
    settings["MAIL_RETRY_BASE_SECONDS"] = 30


@pytest.fixture
def file_transport(settings):
    """No mail server configured: the laptop default."""
    settings["MAIL_URL"] = None


def test_confirmation_reaches_the_smtp_server_complete(app, client, runner, mailbox, settings):
    """From, Subject, Message-ID, both parts and a working link, as the server received them."""
    sign_up(client, "reader@example.com")
    deliver(runner)
    [queued] = outbox_rows(app)

    [message] = mailbox.messages
    assert message["From"] == settings["MAIL_FROM"]
    assert message["X-Envelope-To"] == "reader@example.com"
    assert newsletter_name(app) in message["Subject"]
    assert message["Message-ID"]
    assert message["Message-ID"] == queued.message_id
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert "If you did not sign up" in text_part(message)
    assert "If you did not sign up" in html_part(message)

    confirm_path = link_path(message, "/confirm/")
    assert f'href="https://news.example.org{confirm_path}"' in html_part(message)
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm subscription" in page.text
    assert client.post(confirm_path).status_code == 303
    assert subscriptions(app)[0].status is SubscriptionStatus.CONFIRMED


def test_signup_survives_a_mail_server_outage(offline_mailbox, app, client, runner):
    """Server down: the signup still succeeds; once it is back, the same message goes once."""
    assert app.config["MAIL_URL"] == offline_mailbox.url

    response = sign_up(client, "reader@example.com")
    assert response.status_code == 303
    deliver(runner)  # the attempt fails: nobody listens on that port

    [queued] = outbox_rows(app)
    assert queued.status is OutboxStatus.QUEUED
    assert queued.attempts == 1
    assert queued.last_error
    assert queued.sent_at is None
    assert offline_mailbox.messages == []

    offline_mailbox.start()
    deliver(runner)  # the retry is due at once (MAIL_RETRY_BASE_SECONDS=0)

    [message] = offline_mailbox.messages
    assert message["Message-ID"] == queued.message_id
    [sent] = outbox_rows(app)
    assert sent.status is OutboxStatus.SENT
    assert sent.attempts == 2
    assert sent.sent_at is not None
    assert sent.last_error is None

    deliver(runner)  # nothing left to do: no second copy
    assert len(offline_mailbox.messages) == 1


def test_failed_attempt_waits_for_its_backoff(slow_retries, offline_mailbox, app, client, runner):
    """After a failure the message is not due again before the retry delay has passed."""
    assert app.config["MAIL_RETRY_BASE_SECONDS"] == 30
    sign_up(client, "reader@example.com")
    before = utcnow()
    deliver(runner)
    after = utcnow()

    [queued] = outbox_rows(app)
    assert queued.status is OutboxStatus.QUEUED
    assert queued.attempts == 1
    delay = timedelta(seconds=30)
    assert before + delay <= queued.next_attempt_at <= after + delay

    offline_mailbox.start()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Tried 0 message(s)." in result.output
    assert offline_mailbox.messages == []
    assert outbox_rows(app)[0].attempts == 1


def test_permanent_refusal_fails_the_message_without_retries(refusing_mailbox, app, client, runner):
    """A 550 for the recipient marks the message failed after one attempt, for good."""
    assert app.config["MAIL_URL"] == refusing_mailbox.url
    sign_up(client, "nobody@example.com")
    deliver(runner)

    [failed] = outbox_rows(app)
    assert failed.status is OutboxStatus.FAILED
    assert failed.attempts == 1
    assert "550" in failed.last_error
    assert refusing_mailbox.refused == ["nobody@example.com"]

    deliver(runner)
    deliver(runner)
    [still_failed] = outbox_rows(app)
    assert still_failed.status is OutboxStatus.FAILED
    assert still_failed.attempts == 1
    assert refusing_mailbox.refused == ["nobody@example.com"]
    assert refusing_mailbox.messages == []


def test_resend_throttle_sends_one_confirmation_per_interval(app, client, runner, mailbox):
    """Two signups of a pending address within the interval: one confirmation email."""
    assert sign_up(client, "reader@example.com").status_code == 303
    assert sign_up(client, "Reader@Example.com").status_code == 303
    deliver(runner)

    assert len(mailbox.messages) == 1
    assert [row.kind for row in outbox_rows(app)] == ["confirmation"]


def test_without_resend_interval_each_signup_sends_one(
    resend_at_once, app, client, runner, mailbox
):
    """With CONFIRMATION_RESEND_INTERVAL=0 a second signup queues a second confirmation."""
    assert app.config["CONFIRMATION_RESEND_INTERVAL"] == 0
    assert sign_up(client, "reader@example.com").status_code == 303
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(runner)

    first, second = mailbox.messages
    assert first["Message-ID"] != second["Message-ID"]
    assert [row.kind for row in outbox_rows(app)] == ["confirmation", "confirmation"]
    assert len(subscriptions(app)) == 1
    # Both emails are for the one current round: the earlier link still confirms.
    assert client.post(link_path(first, "/confirm/")).status_code == 303
    assert subscriptions(app)[0].status is SubscriptionStatus.CONFIRMED


def test_backoff_doubles_from_the_base_up_to_a_day():
    """base, 2×base, 4×base … and never more than a day, however many attempts."""
    base = 30
    delays = [backoff(attempt, base) for attempt in range(1, 8)]
    assert delays[0] == timedelta(seconds=base)
    for earlier, later in zip(delays, delays[1:], strict=False):
        assert later == 2 * earlier
    assert backoff(12, base) == timedelta(seconds=base * 2**11)  # 17 h: not capped yet
    assert backoff(13, base) == MAX_BACKOFF == timedelta(days=1)
    for attempts in (14, 50, 100, 1000, 10_000):
        assert backoff(attempts, base) == timedelta(days=1)
    assert backoff(5, 0) == timedelta(0)


def queue_confirmations(app, total: int) -> list[str]:
    """Sign ``total`` readers up straight in the database: their confirmations wait, unsent."""
    emails = [f"reader{number}@example.com" for number in range(total)]
    with app.app_context(), database(app).transaction() as session:
        newsletter = get_by_slug(session, SLUG)
        for email in emails:
            lifecycle.subscribe(session, newsletter, email, lifecycle.Evidence())
    assert len(outbox_rows(app)) == total
    return emails


def test_a_claim_takes_no_more_than_its_batch(app):
    """A worker claims one batch, even from a table the planner knows nothing about yet.

    Found by the two-worker test: PostgreSQL ran the locking subquery once per updated
    row, and the first worker claimed the whole queue (leased, and late, all of it).
    """
    queue_confirmations(app, 120)
    with app.app_context(), database(app).transaction() as session:
        first = outbox.claim(session, limit=50)
    with app.app_context(), database(app).transaction() as session:
        second = outbox.claim(session, limit=50)
    assert (len(first), len(second)) == (50, 50)
    assert {envelope.id for envelope in first}.isdisjoint(envelope.id for envelope in second)


def test_a_message_whose_worker_died_goes_out_after_its_lease(app, runner, mailbox):
    """A worker claims a message and dies before sending it: once the lease has run out,
    the next worker sends it, once."""
    queue_confirmations(app, 1)
    with app.app_context(), database(app).transaction() as session:
        [claimed] = outbox.claim(session, limit=10)
    # The worker dies here: nothing was sent, the message stays claimed.
    deliver(runner)
    assert mailbox.messages == []  # the lease still holds
    with app.app_context(), database(app).transaction() as session:
        # Time passing: the dead worker's lease runs out.
        session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    deliver(runner)

    [message] = mailbox.messages
    assert message["Message-ID"] == claimed.message_id
    [row] = outbox_rows(app)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 2
    deliver(runner)
    assert len(mailbox.messages) == 1


class RecordCuttingMailbox(Mailbox):
    """Accepts the first message, then has PostgreSQL end the connection that records it.

    Before answering 250 it locks the message's outbox row; a watcher waits until the
    worker's UPDATE queues behind that lock, terminates that server process (as a database
    restart would), and lets go of the row.
    """

    def __init__(self, port: int, database_url: str) -> None:
        super().__init__(port)
        self.engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        self.terminated: list[int] = []
        self.watchers: list[threading.Thread] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if not self.watchers:
            message_id = message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]
            locker = self.engine.connect().execution_options(isolation_level="READ COMMITTED")
            locker.begin()
            locker.execute(
                text("SELECT id FROM outbox_message WHERE message_id = :id FOR UPDATE"),
                {"id": message_id},
            )
            watcher = threading.Thread(target=self._cut_the_recorder, args=(locker,), daemon=True)
            watcher.start()
            self.watchers.append(watcher)
        return await super().handle_DATA(server, session, envelope)

    def _cut_the_recorder(self, locker) -> None:
        holder = locker.execute(text("SELECT pg_backend_pid()")).scalar_one()
        try:
            with self.engine.connect() as watching:
                waiting = []
                # Polls the server's lock table until the UPDATE waits (or the worker gave up).
                deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
                while not waiting and time.monotonic() < deadline:
                    time.sleep(POLL_SECONDS)
                    waiting = watching.scalars(
                        text(
                            "SELECT pid FROM pg_stat_activity "
                            "WHERE :holder = ANY(pg_blocking_pids(pid))"
                        ),
                        {"holder": holder},
                    ).all()
                if not waiting:
                    return
                [recorder] = waiting
                watching.execute(
                    text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": recorder}
                )
                self.terminated.append(recorder)
        finally:
            locker.rollback()
            locker.close()

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.join(timeout=WORKER_TIMEOUT_SECONDS)
        super().stop()
        self.engine.dispose()


@pytest.fixture
def record_cutting_mailbox(settings, database_url):
    """The app sends to a mailbox that cuts the database connection recording the send."""
    cutting = RecordCuttingMailbox(free_port(), database_url)
    cutting.start()
    settings["MAIL_URL"] = cutting.url
    yield cutting
    cutting.stop()


@postgresql_only  # a server connection to lose between a send and its record
def test_a_delivery_is_recorded_once_the_database_is_back(
    record_cutting_mailbox, app, runner, caplog
):
    """A send whose record fails (the database connection ends) is recorded, not sent again.

    Found by the soak: the worker gave up on the batch, the message stayed claimed, and
    it went out a second time when its lease ran out.
    """
    queue_confirmations(app, 1)
    deliver(runner)

    assert len(record_cutting_mailbox.terminated) == 1
    assert "recording the delivery of queued message" in caplog.text
    assert len(record_cutting_mailbox.messages) == 1
    [row] = outbox_rows(app)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1


class MeetingMailbox(Mailbox):
    """An SMTP server that holds the first message until a second connection brings one.

    So two workers are sending at the same time, and each claims while the other holds
    claimed rows (SKIP LOCKED is contended): whichever scheduling the machine picks. If no
    second worker ever sends, the first message goes through after ``MEETING_TIMEOUT``
    and the rest without waiting.
    """

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.peers: set[tuple[str, int]] = set()
        self._met: asyncio.Event | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self._met is None:
            self._met = asyncio.Event()  # on the server's own event loop
        self.peers.add(session.peer)
        if len(self.peers) > 1:
            self._met.set()
        try:
            await asyncio.wait_for(self._met.wait(), MEETING_TIMEOUT_SECONDS)
        except TimeoutError:
            self._met.set()  # nobody came: the lone worker sends the rest without waiting
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def meeting_mailbox():
    meeting = MeetingMailbox(port=free_port())
    meeting.start()
    yield meeting
    meeting.stop()


@postgresql_only  # concurrent workers are a PostgreSQL deployment
def test_two_workers_deliver_each_message_exactly_once(
    app, meeting_mailbox, database_url, tmp_path
):
    """Two `newsletter worker --once` processes share 300 messages without a duplicate."""
    total = 300
    emails = queue_confirmations(app, total)

    tried = []
    for out in run_workers(app, tmp_path / "worker-instance", MAIL_URL=meeting_mailbox.url):
        [line] = [line for line in out.splitlines() if line.startswith("Tried ")]
        tried.append(int(line.split()[1]))
    assert min(tried) >= 1, f"one worker sent everything: {tried}"

    received = meeting_mailbox.messages
    assert len(received) == total
    assert len({message["Message-ID"] for message in received}) == total
    assert {message["X-Envelope-To"] for message in received} == set(emails)
    assert sum(tried) == total  # no message was claimed twice
    rows = outbox_rows(app)
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    assert {row.attempts for row in rows} == {1}
    assert {row.message_id for row in rows} == {message["Message-ID"] for message in received}


def test_file_transport_writes_eml_and_logs_the_link(
    file_transport, app, client, runner, caplog, settings
):
    """Without MAIL_URL: an .eml file under instance/mail, its link logged, no address logged."""
    assert app.config["MAIL_URL"] is None
    caplog.set_level(logging.INFO, logger="newsletter.mail.transports")
    sign_up(client, "private.reader@example.com")
    deliver(runner)

    [eml] = sorted((Path(settings["INSTANCE_PATH"]) / "mail").glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "private.reader@example.com"
    [queued] = outbox_rows(app)
    assert message["Message-ID"] == queued.message_id
    assert queued.status is OutboxStatus.SENT
    confirm_path = link_path(message, "/confirm/")

    records = [r for r in caplog.records if r.name == "newsletter.mail.transports"]
    [record] = records
    logged = record.getMessage()
    assert record.levelno == logging.INFO
    assert f"https://news.example.org{confirm_path}" in logged
    assert str(eml) in logged
    assert "private.reader" not in logged
    # Who it is for, masked to the domain, and what kind of mail it is.
    assert "Mail (confirmation to ***@example.com)" in logged

    assert client.get(confirm_path).status_code == 200


# IDNA 2008 (UTS 46) forms. Python's IDNA 2003 codec sent the first two to other domains
# (strasse.de, xn--4xa.gr), whose owners got the confirmation link, and failed on the last.
IDNA_2008 = [
    ("straße.de", "xn--strae-oqa.de"),
    ("ς.gr", "xn--3xa.gr"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("приклад.укр", "xn--80aikifvh.xn--j1amh"),
    ("ß" * 32 + ".de", "xn--zca" + "a" * 31 + ".de"),
]


@pytest.mark.parametrize(("domain", "ascii_domain"), IDNA_2008)
def test_mail_goes_to_the_idna_2008_form_of_the_domain(
    app, client, runner, mailbox, domain, ascii_domain
):
    response = client.post(
        f"/api/v1/newsletters/{SLUG}/subscriptions", json={"email": f"victim@{domain}"}
    )
    assert response.status_code == 202, response.text
    deliver(runner)
    deliver(runner)

    [message] = mailbox.messages
    assert message["X-Envelope-To"] == f"victim@{ascii_domain}"
    assert message["To"] == f"victim@{ascii_domain}"


def test_a_domain_too_long_in_ascii_is_422(app, client, runner, mailbox):
    """60 × ß is a label of 66 ASCII characters: refused as invalid, not a 500."""
    response = client.post(
        f"/api/v1/newsletters/{SLUG}/subscriptions", json={"email": f"victim@{'ß' * 60}.de"}
    )
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"email": ["Please, enter correct email address"]}}
    deliver(runner)
    assert mailbox.messages == []
