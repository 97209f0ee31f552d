"""The signup-wave alert: editors get one email per wave when a newsletter's signups in the
last hour pass a multiple of its usual rate (and the floor), through the real SMTP server."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from newsletter import signup_waves
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Newsletter
from newsletter.models import Subscription
from tests.admin_steps import EDITOR
from tests.admin_steps import create_editor
from tests.reader import SLUG
from tests.reader import deliver

SUBSCRIPTIONS = f"/api/v1/newsletters/{SLUG}/subscriptions"
WAVE_SUBJECT = "A wave of signups to Explaining Ukraine with Kate Tsurkan"


@pytest.fixture(autouse=True)
def wave_settings(settings):
    """A wave from 5 signups an hour, 3 times the usual rate; no rate limit in the way."""
    settings.update(SIGNUP_WAVE_MIN_SIGNUPS=5, SIGNUP_WAVE_MULTIPLE=3, RATELIMIT_ENABLED=False)
    return settings


def sign_up_many(client, runner, first: int, count: int) -> None:
    for number in range(first, first + count):
        response = client.post(SUBSCRIPTIONS, json={"email": f"bot{number}@example.com"})
        assert response.status_code == 202
    deliver(runner)


def alerts(mailbox) -> list:
    return [message for message in mailbox.messages if message["To"] == EDITOR]


def test_editors_are_told_once_per_wave(app, client, runner, mailbox):
    assert create_editor(runner).exit_code == 0
    sign_up_many(client, runner, 0, 4)
    assert alerts(mailbox) == []
    sign_up_many(client, runner, 4, 1)
    [alert] = alerts(mailbox)
    assert alert["Subject"] == WAVE_SUBJECT
    assert alert["Auto-Submitted"] == "auto-generated"
    text = alert.get_body(("plain",)).get_content()
    assert "got 5 new signups in the last hour; it usually gets 0 an hour" in text
    assert f"https://news.example.org/admin/newsletters/{SLUG}" in text
    # The wave goes on: no second email.
    sign_up_many(client, runner, 5, 5)
    assert len(alerts(mailbox)) == 1
    # Two hours later it has ended; a new wave is told again.
    with app.app_context(), database(app).transaction() as session:
        newsletter = session.query(Newsletter).filter_by(slug=SLUG).one()
        signup_waves.check(session, [newsletter], now=utcnow() + timedelta(hours=2))
    sign_up_many(client, runner, 10, 1)
    assert len(alerts(mailbox)) == 2


def test_the_threshold_is_a_multiple_of_the_usual_rate(app, client, runner, mailbox, tmp_path):
    """A week of 168 signups (one an hour on average), imported and dated three days ago:
    with a floor of 1, a wave is 3 signups in the hour, not 2."""
    app.config["SIGNUP_WAVE_MIN_SIGNUPS"] = 1
    assert create_editor(runner).exit_code == 0
    rows = "".join(f"reader{number}@example.com\n" for number in range(168))
    (tmp_path / "week.csv").write_text("email\n" + rows)
    week = ["import", "--newsletter", SLUG, "--email-column", "email", str(tmp_path / "week.csv")]
    imported = runner.invoke(args=week)
    assert imported.exit_code == 0, imported.output
    with app.app_context(), database(app).transaction() as session:
        session.execute(update(Subscription).values(created_at=utcnow() - timedelta(days=3)))
    sign_up_many(client, runner, 0, 2)
    assert alerts(mailbox) == []
    sign_up_many(client, runner, 2, 1)
    [alert] = alerts(mailbox)
    assert "got 3 new signups in the last hour; it usually gets 1 an hour" in (
        alert.get_body(("plain",)).get_content()
    )
