"""Steps of the bounce tests: a reader with mail of ours out, the reports about it, and
what the database then holds."""

from pathlib import Path

from sqlalchemy import select

from newsletter.db import database
from newsletter.models import OutboxMessage
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up

BOUNCES = Path(__file__).parent / "data" / "bounces"
READER = "reader@example.com"


def confirmed_reader(client, runner, mailbox, email: str = READER):
    """Sign up and confirm; returns the confirmation and the welcome as received."""
    sign_up(client, email)
    deliver(runner)
    confirmation = mailbox.messages[-1]
    client.post(link_path(confirmation, "/confirm/"))
    deliver(runner)
    return confirmation, mailbox.messages[-1]


def report_file(tmp_path: Path, name: str, message, recipient: str = READER) -> Path:
    """The fixture ``name`` about ``message`` (as received), written to ``tmp_path``."""
    text = (BOUNCES / name).read_text()
    filled = (
        text.replace("@@MESSAGE_ID@@", message["Message-ID"])
        .replace("@@RECIPIENT@@", recipient)
        .replace("@@VERP@@", message["X-Envelope-From"])
    )
    path = tmp_path / name
    path.write_text(filled)
    return path


def state(app, email: str = READER) -> list[tuple[str, str, bool, int]]:
    """Each subscription of ``email``: newsletter slug, status, complained?, soft bounces."""
    with app.app_context(), database(app).reading_sessions() as session:
        rows = session.scalars(
            select(Subscription)
            .join(Subscription.reader)
            .where(Reader.email == email)
            .order_by(Subscription.id)
        ).all()
        return [
            (row.newsletter.slug, row.status.value, row.complained_at is not None, row.soft_bounces)
            for row in rows
        ]


def events(app, kind: str) -> list[str | None]:
    """The details of every history event of this kind, oldest first."""
    with app.app_context(), database(app).reading_sessions() as session:
        return list(
            session.scalars(
                select(SubscriptionEvent.detail)
                .where(SubscriptionEvent.kind == kind)
                .order_by(SubscriptionEvent.id)
            )
        )


def outbox_statuses(app) -> list[tuple[str, str]]:
    """Each queued message's kind and status, in the order queued."""
    with app.app_context(), database(app).reading_sessions() as session:
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.status).order_by(OutboxMessage.id)
        ).all()
        return [(kind, status.value) for kind, status in rows]
