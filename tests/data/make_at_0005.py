"""Make the migration test's golden data: a database at revision 0005, as plain rows.

Run once, on the code of revision 0005 (commit fc8a746, before the reader model), from
the repository's root: ``python -m tests.data.make_at_0005``. It writes ``at_0005.json``
(every row of the tables that hold subscribers) and ``export_at_0005_<slug>.csv`` (what
``newsletter export`` gave for each newsletter then). It does not run on later code: its
output is the record of what that code did, which ``tests/test_migrations.py`` holds the
upgraded database to.
"""

import json
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy import select

from newsletter import create_app
from newsletter import list_management
from newsletter import migrations
from newsletter import newsletters
from newsletter import signup_requests
from newsletter import subscriptions
from newsletter.db import database
from newsletter.link_tokens import make_confirm_token
from newsletter.models import Subscription
from newsletter.subscriptions import Evidence

HERE = Path(__file__).parent
TABLES = (
    "newsletter",
    "subscription",
    "subscription_event",
    "outbox_message",
    "erasure",
    "signup_request",
)
BRIEFING = "daily-briefing"
SECRET = "golden secret"


def _evidence(number: int) -> Evidence:
    return Evidence(
        f"203.0.113.{number}",
        f"GoldenBrowser/{number}",
        "web",
        f"https://news.example.org/page-{number}",
    )


def _subscription(session, slug: str, email: str) -> Subscription:
    newsletter = newsletters.get_by_slug(session, slug)
    return session.scalars(
        select(Subscription).where(
            Subscription.newsletter_id == newsletter.id, Subscription.email == email
        )
    ).one()


def _subscribe(session, slug: str, email: str, number: int) -> Subscription:
    subscriptions.subscribe(
        session, newsletters.get_by_slug(session, slug), email, _evidence(number)
    )
    return _subscription(session, slug, email)


def _confirm(session, subscription: Subscription, number: int) -> None:
    token = make_confirm_token(SECRET, subscription.public_id, subscription.confirmation_round)
    subscriptions.confirm(session, token, _evidence(number))


def _unsubscribe(session, subscription: Subscription, number: int) -> None:
    subscriptions.end(session, subscription, _evidence(number), "golden one-click")


def populate(session) -> None:
    """Subscriptions in every state, in two newsletters."""
    newsletters.seed_default(session)
    newsletters.create(
        session, slug=BRIEFING, name="The Daily Briefing", description="Every morning."
    )
    session.flush()
    _subscribe(session, "explaining-ukraine", "pending@example.com", 1)
    _confirm(session, _subscribe(session, "explaining-ukraine", "confirmed@example.com", 2), 3)
    left = _subscribe(session, "explaining-ukraine", "left@example.org", 4)
    _confirm(session, left, 5)
    _unsubscribe(session, left, 6)
    # Round 2: confirmed, left, signed up again and confirmed again.
    again = _subscribe(session, "explaining-ukraine", "again@example.net", 7)
    _confirm(session, again, 8)
    _unsubscribe(session, again, 9)
    _subscribe(session, "explaining-ukraine", "again@example.net", 10)
    _confirm(session, again, 11)
    # One person in both newsletters, the local part cased differently each time.
    _confirm(session, _subscribe(session, "explaining-ukraine", "Olena.K@example.com", 12), 13)
    _subscribe(session, BRIEFING, "olena.k@example.com", 14)
    # A cell a spreadsheet would run as a formula.
    _subscribe(session, BRIEFING, "=1+1@example.com", 15)
    _confirm(session, _subscribe(session, BRIEFING, "morning@example.com", 16), 17)
    # Erased: only a tombstone stays.
    list_management.erase(session, _subscribe(session, BRIEFING, "erased@example.com", 18))
    # A signup the worker has not applied yet.
    signup_requests.record(
        session, newsletters.get_by_slug(session, BRIEFING), "waiting@example.com", _evidence(19)
    )


def _plain(value: object) -> object:
    """A value as JSON holds it: times as ISO 8601 text in UTC."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dump(connection) -> dict[str, list[dict]]:
    """Every row of the subscriber tables, in id order."""
    tables = MetaData()
    tables.reflect(bind=connection, only=TABLES)
    return {
        name: [
            {column: _plain(value) for column, value in row._mapping.items()}
            for row in connection.execute(
                select(tables.tables[name]).order_by(tables.tables[name].c.id)
            )
        ]
        for name in TABLES
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/at_0005.db"
        migrations.upgrade(url)
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "INSTANCE_PATH": folder,
                "PUBLIC_URL": "https://news.example.org",
                "MAIL_FROM": "Newsletter <newsletter@example.org>",
            }
        )
        with app.app_context(), database(app).transaction() as session:
            populate(session)
        with database(app).engine.connect() as connection:
            rows = dump(connection)
        (HERE / "at_0005.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        runner = app.test_cli_runner()
        for newsletter in rows["newsletter"]:
            slug = newsletter["slug"]
            output = HERE / f"export_at_0005_{slug}.csv"
            result = runner.invoke(args=["export", "--newsletter", slug, "-o", str(output)])
            assert result.exit_code == 0, result.output
        database(app).engine.dispose()


if __name__ == "__main__":
    main()
