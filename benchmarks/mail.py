"""Mail delivery: ``newsletter worker --once`` against a bare ``smtplib`` loop.

The confirmations are queued by the product's own signup function
(:func:`newsletter.subscriptions.subscribe`), so they are the messages a real signup
queues. Both sides send to the same aiosmtpd sink, in a process of its own; the baseline
sends the very same messages, pre-built, over one connection. Between repeats the sent
messages are put back in the queue.
"""

import smtplib
import time
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from benchmarks import progress
from benchmarks.instance import Instance
from benchmarks.scale import Scale
from benchmarks.servers import SmtpSink
from benchmarks.stats import Row
from benchmarks.stats import Target
from newsletter import newsletters
from newsletter import subscriptions
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import OutboxMessage
from newsletter.models import OutboxStatus
from newsletter.subscriptions import Evidence

SLUG = "bench-mail"
RATE_RATIO = Target(0.7, at_least=True, on_ratio=True)
COMMIT_EVERY = 500
EVIDENCE = Evidence(
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    source="web",
    source_url="https://news.example.org/2025/ukraine-explained",
)


def measure(backend, scale: Scale, sink: SmtpSink, folder: Path) -> tuple[list[Row], list[str]]:
    """Queue ``scale.mails`` confirmations, then deliver them both ways, repeatedly."""
    instance = Instance(folder / "mail", backend.new_database("mail"), sink.url)
    instance.prepare(SLUG)
    started = time.monotonic()
    _queue(instance, scale.mails)
    queued_in = time.monotonic() - started
    progress.say(f"queued {scale.mails:,} confirmations in {queued_in:.1f} s")
    messages = _messages(instance)
    worker_rates: list[float] = []
    loop_rates: list[float] = []
    for repeat in range(scale.repeats):
        if repeat:
            _requeue(instance)
        loop_rates.append(len(messages) / _smtplib_loop(sink, messages))
        worker_rates.append(len(messages) / _worker(instance, len(messages)))
        progress.say(
            f"mail {repeat + 1}: worker {worker_rates[-1]:,.0f}/s, smtplib {loop_rates[-1]:,.0f}/s"
        )
    instance.dispose()
    rows = [
        Row(
            f"Mail baseline: smtplib loop, one connection, {scale.mails:,} messages",
            "msg/s",
            loop_rates,
        ),
        Row(
            f"Mail: `newsletter worker --once`, {scale.mails:,} confirmations",
            "msg/s",
            worker_rates,
            ratios=[worker / loop for worker, loop in zip(worker_rates, loop_rates, strict=True)],
            baseline="smtplib loop",
            target=RATE_RATIO,
        ),
    ]
    notes = [
        f"Mail: queueing {scale.mails:,} confirmations with `subscriptions.subscribe` took "
        f"{queued_in:.1f} s ({queued_in * 1000 / scale.mails:.2f} ms each, "
        f"{COMMIT_EVERY} per transaction). The worker's time includes its process start."
    ]
    return rows, notes


def _queue(instance: Instance, count: int) -> None:
    """Sign ``count`` new addresses up, as the form would, in transactions of 500."""
    app = instance.app()
    with app.app_context():
        db = database(app)
        for start in range(0, count, COMMIT_EVERY):
            with db.transaction() as session:
                newsletter = newsletters.get_by_slug(session, SLUG)
                for number in range(start, min(start + COMMIT_EVERY, count)):
                    address = f"reader-{number}@example.com"
                    subscriptions.subscribe(session, newsletter, address, EVIDENCE)
        db.engine.dispose()


def _messages(instance: Instance) -> list[tuple[str, str, bytes]]:
    """Sender, recipient and bytes of every queued message, as the baseline sends them."""
    query = select(OutboxMessage.sender, OutboxMessage.recipient, OutboxMessage.raw)
    with instance.engine.connect() as connection:
        return [
            (sender, recipient, raw.encode())
            for sender, recipient, raw in connection.execute(query.order_by(OutboxMessage.id))
        ]


def _requeue(instance: Instance) -> None:
    """Put every sent message back in the queue, due now."""
    with instance.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage.__table__).values(
                status=OutboxStatus.QUEUED,
                attempts=0,
                sent_at=None,
                claimed_until=None,
                next_attempt_at=utcnow(),
            )
        )


def _worker(instance: Instance, count: int) -> float:
    """Seconds ``newsletter worker --once`` takes to deliver the queue; checks it did."""
    started = time.monotonic()
    output = instance.command("worker", "--once")
    seconds = time.monotonic() - started
    sent = select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
    with instance.engine.connect() as connection:
        delivered = connection.scalar(sent)
    if f"Tried {count} message(s)." not in output or delivered != count:
        raise RuntimeError(f"the worker delivered {delivered} of {count}: {output!r}")
    return seconds


def _smtplib_loop(sink: SmtpSink, messages: list[tuple[str, str, bytes]]) -> float:
    """Seconds a bare loop takes to send the messages over one SMTP connection."""
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
        for sender, recipient, raw in messages:
            client.sendmail(sender, [recipient], raw)
    return time.monotonic() - started
