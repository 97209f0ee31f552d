"""Simultaneous signups of one address: one subscription, one confirmation, no server error.

Readers double-click, browsers retry, and several web processes share one database: the
submissions below all reach the database at the same moment, from threads of one
process and from separate processes. The requests only record the signups; then as many
workers as there are signups apply them at the same moment, one each.
"""

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.mail.worker import Worker
from newsletter.models import OutboxMessage
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from tests.conftest import postgresql_only
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import subscriptions

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 60
CASINGS = [
    "reader@example.com",
    "Reader@example.com",
    "READER@EXAMPLE.COM",
    "reader@Example.Com",
    "rEaDeR@example.com",
    "reader@EXAMPLE.com",
    "Reader@Example.COM",
    "READER@example.com",
]

# One web process: create the app, open the form, say "ready", wait for "go", submit.
SUBMIT_SCRIPT = """
import json
import sys

from newsletter import create_app
from tests.reader import SLUG
from tests.reader import csrf_token

settings = json.loads(sys.argv[1])
client = create_app(settings).test_client()
page = client.get(f"/newsletters/{SLUG}")
token = csrf_token(page.text)
print("ready", flush=True)
sys.stdin.readline()
response = client.post(
    f"/newsletters/{SLUG}/subscribe", data={"email": sys.argv[2], "csrf_token": token}
)
print(response.status_code, flush=True)
"""


def confirmations(app) -> list[str]:
    """The recipients of every queued confirmation email."""
    with app.app_context(), database(app).transaction() as session:
        query = select(OutboxMessage.recipient).where(OutboxMessage.kind == "confirmation")
        return list(session.scalars(query))


def readers(app) -> list[str]:
    """Every reader's address key."""
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(Reader.email_key)))


def assert_one_subscription_one_confirmation(app) -> None:
    assert readers(app) == ["reader@example.com"]
    [subscription] = subscriptions(app)
    assert subscription.email.lower() == "reader@example.com"
    assert subscription.status is SubscriptionStatus.PENDING
    assert [recipient.lower() for recipient in confirmations(app)] == ["reader@example.com"]


def submit_together(app, emails: list[str], slugs: tuple[str, ...] = (SLUG,)) -> list[object]:
    """One browser per address, each with its own session; all press Subscribe at once,
    the first on the first newsletter's page, the next on the next one's, and so on."""
    barrier = threading.Barrier(len(emails))
    results: dict[int, object] = {}

    def submit(index: int, email: str) -> None:
        slug = slugs[index % len(slugs)]
        try:
            client = app.test_client()
            page = client.get(f"/newsletters/{slug}")
            token = csrf_token(page.text)
            barrier.wait(timeout=TIMEOUT_SECONDS)
            response = client.post(
                f"/newsletters/{slug}/subscribe", data={"email": email, "csrf_token": token}
            )
            results[index] = response.status_code
        except Exception as error:  # reported by the caller, in the test's thread
            barrier.abort()
            results[index] = error

    threads = [
        threading.Thread(target=submit, args=(index, email)) for index, email in enumerate(emails)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)
        assert not thread.is_alive()
    return [results[index] for index in range(len(emails))]


def released_together(processes: list[subprocess.Popen]) -> list[str]:
    """Wait until every process has its app and its form, release them together, and
    return what each printed (the status of its answer)."""
    try:
        for process in processes:
            line = process.stdout.readline()
            assert line == "ready\n", process.stderr.read()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        answers = []
        for process in processes:
            out, err = process.communicate(timeout=TIMEOUT_SECONDS)
            assert process.returncode == 0, err
            answers.append(out.strip())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return answers


def apply_together(app, workers: int) -> list[object]:
    """``workers`` mail workers, each taking one recorded signup, apply them at once."""
    barrier = threading.Barrier(workers)
    results: dict[int, object] = {}

    def apply(index: int) -> None:
        try:
            worker = Worker.for_app(app)
            worker.batch_size = 1
            barrier.wait(timeout=TIMEOUT_SECONDS)
            results[index] = worker.apply_signups()
        except Exception as error:  # reported by the caller, in the test's thread
            barrier.abort()
            results[index] = error

    threads = [threading.Thread(target=apply, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)
        assert not thread.is_alive()
    return [results[index] for index in range(workers)]


def test_simultaneous_submissions_from_threads_make_one_subscription(app):
    """8 browsers, each with its own session and form, press Subscribe at the same moment."""
    assert submit_together(app, CASINGS) == [303] * len(CASINGS)
    assert apply_together(app, len(CASINGS)) == [1] * len(CASINGS)
    assert_one_subscription_one_confirmation(app)


@pytest.fixture
def unthrottled(settings):
    """No rate limits: 24 signups of one address within a second are what this test is for."""
    settings["RATELIMIT_ENABLED"] = False


def test_one_address_to_three_newsletters_at_once_makes_one_reader(unthrottled, app, runner):
    """24 submissions of one address, in 8 casings, to 3 newsletters, applied by 24
    workers at once: one reader, one subscription and one confirmation per newsletter."""
    slugs = (SLUG, "briefing", "culture")
    for slug in slugs[1:]:
        created = runner.invoke(args=["newsletters", "create", "--slug", slug, "--name", slug])
        assert created.exit_code == 0, created.output
    emails = [email for email in CASINGS for _ in slugs]
    assert submit_together(app, emails, slugs) == [303] * len(emails)
    assert apply_together(app, len(emails)) == [1] * len(emails)
    assert readers(app) == ["reader@example.com"]
    stored = subscriptions(app)
    assert sorted(subscription.newsletter.slug for subscription in stored) == sorted(slugs)
    assert len({subscription.reader_id for subscription in stored}) == 1
    assert [recipient.lower() for recipient in confirmations(app)] == ["reader@example.com"] * 3


def test_simultaneous_resubmissions_of_a_pending_address_send_one_reminder(app):
    """A pending address whose resend is due, submitted 8 times at once: one new email."""
    assert submit_together(app, CASINGS[:1]) == [303]
    assert apply_together(app, 1) == [1]
    interval = timedelta(seconds=app.config["CONFIRMATION_RESEND_INTERVAL"])
    with app.app_context(), database(app).transaction() as session:
        subscription = session.scalars(select(Subscription)).one()
        subscription.confirmation_sent_at -= interval + timedelta(seconds=1)

    assert submit_together(app, CASINGS) == [303] * len(CASINGS)
    assert apply_together(app, len(CASINGS)) == [1] * len(CASINGS)
    assert len(subscriptions(app)) == 1
    assert len(confirmations(app)) == 2


@postgresql_only  # several web processes share a PostgreSQL database, not a SQLite file
def test_simultaneous_submissions_from_processes_make_one_subscription(app, settings):
    """Several web processes on one PostgreSQL database submit the same address at once."""
    shared = json.dumps(
        {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMIT_SCRIPT, shared, email],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for email in CASINGS[:6]
    ]
    answers = released_together(processes)

    assert answers == ["303"] * len(processes)
    assert apply_together(app, len(processes)) == [1] * len(processes)
    assert_one_subscription_one_confirmation(app)
