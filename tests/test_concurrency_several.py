"""Simultaneous signups of one address to overlapping sets of newsletters.

24 submissions (threads of one process; on PostgreSQL, separate web processes too) name
two or three of three newsletters each; then as many workers apply them at once, one
each. Whatever the order: one reader, one subscription per newsletter, and one
confirmation email per signup that changed something, each subscription in exactly one.
"""

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import Confirmation
from newsletter.models import ConfirmationItem
from newsletter.models import OutboxMessage
from tests.conftest import postgresql_only
from tests.reader import subscriptions
from tests.several import BRIEFING
from tests.several import DIGEST
from tests.several import SLUG
from tests.several import add_newsletters
from tests.test_concurrency import CASINGS
from tests.test_concurrency import ROOT
from tests.test_concurrency import TIMEOUT_SECONDS
from tests.test_concurrency import apply_together
from tests.test_concurrency import readers
from tests.test_concurrency import released_together

OVERLAPPING = [[SLUG, BRIEFING], [BRIEFING, DIGEST], [DIGEST, SLUG], [SLUG, BRIEFING, DIGEST]]

# One web process: create the app, say "ready", wait for "go", submit to the API.
SUBMIT_SCRIPT = """
import json
import sys

from newsletter import create_app

settings = json.loads(sys.argv[1])
client = create_app(settings).test_client()
print("ready", flush=True)
sys.stdin.readline()
body = {"email": sys.argv[2], "newsletters": json.loads(sys.argv[3])}
print(client.post("/api/v1/subscriptions", json=body).status_code, flush=True)
"""


@pytest.fixture
def settings(settings):
    """No rate limits: 24 signups of one address within a second are the point."""
    return settings | {"RATELIMIT_ENABLED": False}


@pytest.fixture(autouse=True)
def three_newsletters(app) -> None:
    add_newsletters(app)


def signups(count: int) -> list[tuple[str, list[str]]]:
    """``count`` signups of one address, in its casings, to overlapping sets."""
    return [(CASINGS[index % len(CASINGS)], OVERLAPPING[index % 4]) for index in range(count)]


def submit_together(app, wanted: list[tuple[str, list[str]]]) -> list[object]:
    """One script per signup; all post to the API at the same moment."""
    barrier = threading.Barrier(len(wanted))
    results: dict[int, object] = {}

    def submit(index: int, email: str, chosen: list[str]) -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=TIMEOUT_SECONDS)
            body = {"email": email, "newsletters": chosen}
            results[index] = client.post("/api/v1/subscriptions", json=body).status_code
        except Exception as error:  # reported by the caller, in the test's thread
            barrier.abort()
            results[index] = error

    threads = [
        threading.Thread(target=submit, args=(index, email, chosen))
        for index, (email, chosen) in enumerate(wanted)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)
        assert not thread.is_alive()
    return [results[index] for index in range(len(wanted))]


def assert_one_reader_one_subscription_each_one_email_per_change(app) -> None:
    assert readers(app) == ["reader@example.com"]
    stored = subscriptions(app)
    assert sorted(row.newsletter.slug for row in stored) == sorted([SLUG, BRIEFING, DIGEST])
    with app.app_context(), database(app).transaction() as session:
        emails = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == "confirmation")
        ).all()
        sent = session.scalars(select(Confirmation.id)).all()
        covered = Counter(session.scalars(select(ConfirmationItem.subscription_id)))
    # A signup changed something if it found a newsletter not yet asked for: it sent one
    # email naming those; the others sent nothing.
    assert 1 <= len(emails) == len(sent) <= 3
    assert {email.lower() for email in emails} == {"reader@example.com"}
    assert covered == {row.id: 1 for row in stored}


def test_overlapping_sets_from_24_threads(app):
    wanted = signups(24)
    assert submit_together(app, wanted) == [202] * len(wanted)
    assert apply_together(app, len(wanted)) == [1] * len(wanted)
    assert_one_reader_one_subscription_each_one_email_per_change(app)


@postgresql_only  # several web processes share a PostgreSQL database, not a SQLite file
def test_overlapping_sets_from_processes(app, settings):
    shared = json.dumps(
        {key: str(value) if isinstance(value, Path) else value for key, value in settings.items()}
    )
    wanted = signups(8)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMIT_SCRIPT, shared, email, json.dumps(chosen)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for email, chosen in wanted
    ]
    answers = released_together(processes)

    assert answers == ["202"] * len(processes)
    assert apply_together(app, len(processes)) == [1] * len(processes)
    assert_one_reader_one_subscription_each_one_email_per_change(app)
