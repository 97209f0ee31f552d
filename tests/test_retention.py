"""Retention: ``newsletter daily`` purges stale signups and, with
NEWSLETTER_IP_RETENTION_DAYS set, removes the IP addresses of old consent evidence while
keeping the record that consent was given, and when."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from newsletter import create_app
from newsletter.config import ConfigurationError
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from tests.admin_steps import mailed_link
from tests.reader import deliver
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.test_erasure import signed_up_ago

OLD = "old@example.com"
RECENT = "recent@example.com"
OLD_IP = "203.0.113.10"
RECENT_IP = "203.0.113.20"


def confirmed_from(app, runner, mailbox, address: str, ip: str) -> None:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = ip
    assert sign_up(browser, address).status_code == 303
    deliver(runner)
    assert browser.post(mailed_link(mailbox, address, "/confirm/")).status_code == 303
    deliver(runner)


def age(app, address: str, days: int) -> None:
    """Move the reader's consent evidence and history ``days`` into the past."""
    then = utcnow() - timedelta(days=days)
    with app.app_context(), database(app).transaction() as session:
        ids = select(Subscription.id).where(Subscription.reader.has(email=address))
        session.execute(
            update(Subscription)
            .where(Subscription.id.in_(ids))
            .values(signup_at=then, confirmed_at=then)
        )
        session.execute(
            update(SubscriptionEvent)
            .where(SubscriptionEvent.subscription_id.in_(ids))
            .values(occurred_at=then)
        )


def evidence(app, address: str) -> tuple:
    """(signup IP, confirmation IP, status, both times set, events as (kind, ip))."""
    with app.app_context(), database(app).transaction() as session:
        row = session.scalars(
            select(Subscription).where(Subscription.reader.has(email=address))
        ).one()
        events = session.execute(
            select(SubscriptionEvent.kind, SubscriptionEvent.ip)
            .where(SubscriptionEvent.subscription_id == row.id)
            .order_by(SubscriptionEvent.id)
        ).all()
        times = row.signup_at is not None and row.confirmed_at is not None
        return row.signup_ip, row.confirmed_ip, row.status.value, times, [tuple(e) for e in events]


@pytest.fixture
def settings(settings: dict) -> dict:
    return settings | {"IP_RETENTION_DAYS": 90}


def test_daily_removes_old_ip_addresses_and_keeps_the_consent_record(app, runner, mailbox):
    confirmed_from(app, runner, mailbox, OLD, OLD_IP)
    confirmed_from(app, runner, mailbox, RECENT, RECENT_IP)
    age(app, OLD, 91)
    age(app, RECENT, 89)

    result = runner.invoke(args=["daily"])
    assert result.exit_code == 0, result.output
    assert "Removed the IP address from 4 record(s) older than 90 days." in result.output

    assert evidence(app, OLD) == (
        None,
        None,
        "confirmed",
        True,
        [("signup", None), ("confirmed", None)],
    )
    assert evidence(app, RECENT) == (
        RECENT_IP,
        RECENT_IP,
        "confirmed",
        True,
        [("signup", RECENT_IP), ("confirmed", RECENT_IP)],
    )
    again = runner.invoke(args=["daily"])
    assert "Removed the IP address from 0 record(s)" in again.output


def test_daily_purges_stale_pending_signups_too(app, client, runner):
    signed_up_ago(
        app,
        client,
        {"stale@example.com": timedelta(days=31), "young@example.com": timedelta(minutes=10)},
    )
    result = runner.invoke(args=["daily"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 pending signup(s) older than 30d." in result.output
    assert [row.email for row in subscriptions(app)] == ["young@example.com"]
    shorter = runner.invoke(args=["daily", "--pending-older-than", "1m"])
    assert "Purged 1 pending signup(s) older than 1m." in shorter.output


@pytest.mark.parametrize("duration", ["30", "abc", "-5d", ""])
def test_daily_with_a_bad_duration_is_a_usage_error(app, runner, duration):
    result = runner.invoke(args=["daily", "--pending-older-than", duration])
    assert result.exit_code == 2
    assert "--pending-older-than" in result.output
    assert "Traceback" not in result.output


def test_without_the_setting_ip_addresses_are_kept(app, runner, mailbox):
    app.config["IP_RETENTION_DAYS"] = None
    confirmed_from(app, runner, mailbox, OLD, OLD_IP)
    age(app, OLD, 3650)
    result = runner.invoke(args=["daily"])
    assert result.exit_code == 0, result.output
    assert "IP addresses are kept: NEWSLETTER_IP_RETENTION_DAYS is not set." in result.output
    assert evidence(app, OLD)[:2] == (OLD_IP, OLD_IP)


@pytest.mark.parametrize("setting", ["IP_RETENTION_DAYS", "AUDIT_RETENTION_DAYS"])
@pytest.mark.parametrize("value", [-1, "soon", "1.5", True])
def test_a_retention_that_is_no_number_of_days_is_refused_at_start(settings, setting, value):
    with pytest.raises(ConfigurationError, match=f"NEWSLETTER_{setting}"):
        create_app(settings | {setting: value})


@pytest.mark.parametrize(("value", "days"), [(None, None), (0, None), ("30", 30), (7, 7)])
def test_a_retention_in_days_is_read(settings, value, days):
    app = create_app(settings | {"IP_RETENTION_DAYS": value})
    try:
        assert app.config["IP_RETENTION_DAYS"] == days
    finally:
        database(app).engine.dispose()
