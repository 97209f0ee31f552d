"""Personal data leaving for good: erasure, the purge of stale signups, revoked tokens."""

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta
from email import message_from_bytes
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import JSON
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from newsletter import create_app
from newsletter import list_management
from newsletter import newsletters
from newsletter.db import database
from newsletter.db.base import Base
from newsletter.db.types import utcnow
from newsletter.models import OutboxMessage
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from tests.admin_steps import TOKEN_LINE
from tests.admin_steps import bearer
from tests.admin_steps import create_token
from tests.admin_steps import mailed_link
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.admin_steps import stored_tokens
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.reader import subscriptions

EXPORT = f"/admin/newsletters/{SLUG}/subscribers.csv"
# The reader who asks to be forgotten, and what we learnt about them.
LOCAL_PART = "Zoryana.Kvitka"
ADDRESS = f"{LOCAL_PART}@example.com"
SIGNUP_IP = "203.0.113.77"
CONFIRM_IP = "203.0.113.78"
USER_AGENT = "ZoryanaBrowser/7.7 (private)"
ARTICLE = "https://news.example.org/2026/zoryana-reads-this"
BRIEFING = "daily-briefing"


def traces(app, *needles: str) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a text column of any table holds a needle.

    The tables are read from the database itself, so a table a migration adds is scanned
    even before anyone remembers this test; every table of the models must be among them.
    Case does not matter: ``zoryana.kvitka`` is a trace of ``Zoryana.Kvitka``.
    """
    found = []
    with app.app_context(), database(app).transaction() as session:
        tables = MetaData()
        tables.reflect(bind=session.connection())
        assert {table.name for table in Base.metadata.sorted_tables} <= set(tables.tables)
        for table in tables.sorted_tables:
            columns = [
                column for column in table.columns if isinstance(column.type, String | Text | JSON)
            ]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    found.extend(
                        (table.name, column.name, needle)
                        for needle in needles
                        if needle.lower() in text.lower()
                    )
    return found


def counts(app, slug: str = SLUG) -> dict[str, int]:
    with app.app_context(), database(app).transaction() as session:
        return list_management.counts(session, newsletters.get_by_slug(session, slug))


def confirmed_reader(app, runner, mailbox) -> tuple[str, str]:
    """The reader signs up, confirms from their email, gets the welcome; their two links."""
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=SIGNUP_IP, HTTP_USER_AGENT=USER_AGENT)
    assert sign_up(browser, ADDRESS, Referer=ARTICLE).status_code == 303
    deliver(runner)
    confirm_path = mailed_link(mailbox, ADDRESS, "/confirm/")
    browser.environ_base["REMOTE_ADDR"] = CONFIRM_IP
    assert browser.post(confirm_path).status_code == 303
    deliver(runner)
    return confirm_path, mailed_link(mailbox, ADDRESS, "/unsubscribe/")


def public_id_of(app, address: str) -> str:
    [found] = [row for row in subscriptions(app) if row.email == address]
    return found.public_id


def erase_through_admin(app, runner, public_id: str):
    """An editor opens the subscriber's page, follows "Erase this reader everywhere…" and
    presses "Erase permanently" on the confirmation page."""
    editor = signed_in_client(app, runner)
    page_path = f"/admin/newsletters/{SLUG}/subscribers/{public_id}"
    assert f'href="{page_path}/erase"' in editor.get(page_path).text
    confirmation = editor.get(f"{page_path}/erase")
    assert confirmation.status_code == 200
    token = page_csrf_token(confirmation.text)
    response = editor.post(f"{page_path}/erase", data={"csrf_token": token})
    return editor, response


# --- Right to erasure ----------------------------------------------------------------------


def test_erasure_leaves_no_trace_of_the_reader(app, client, runner, mailbox):
    assert sign_up(client, "keeper@example.com").status_code == 303  # someone who stays
    confirmed_reader(app, runner, mailbox)
    public_id = public_id_of(app, ADDRESS)
    personal = (ADDRESS, LOCAL_PART, public_id, SIGNUP_IP, CONFIRM_IP, USER_AGENT, ARTICLE)

    # The scan sees the reader everywhere they are before the erasure...
    before = traces(app, *personal)
    assert {table for table, _, _ in before} >= {
        "subscription",
        "subscription_event",
        "outbox_message",
    }
    assert {needle for _, _, needle in before} == set(personal)

    _, response = erase_through_admin(app, runner, public_id)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/newsletters/{SLUG}"

    # ...and nowhere after it, whatever the case.
    assert traces(app, *personal) == []
    assert traces(app, ADDRESS.upper(), LOCAL_PART.lower()) == []
    # The other reader is untouched.
    assert [row.email for row in subscriptions(app)] == ["keeper@example.com"]
    assert traces(app, "keeper@example.com")


def test_erasure_from_one_newsletter_erases_the_reader_in_every_newsletter(
    app, client, runner, mailbox
):
    """Subscribed to two newsletters (and a third signup waiting), erased from one's admin
    page: no trace in either, and each newsletter counts a tombstone."""
    created = runner.invoke(args=["newsletters", "create", "--slug", BRIEFING, "--name", "B"])
    assert created.exit_code == 0, created.output
    assert sign_up(client, "keeper@example.com", BRIEFING).status_code == 303
    confirmed_reader(app, runner, mailbox)
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=SIGNUP_IP, HTTP_USER_AGENT=USER_AGENT)
    assert sign_up(browser, ADDRESS.lower(), BRIEFING, Referer=ARTICLE).status_code == 303
    deliver(runner)
    third = runner.invoke(args=["newsletters", "create", "--slug", "third", "--name", "C"])
    assert third.exit_code == 0, third.output
    assert sign_up(browser, ADDRESS, "third").status_code == 303  # not applied yet
    assert counts(app, BRIEFING) == {
        "pending": 2,
        "confirmed": 0,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 0,
    }
    in_briefing = [row for row in subscriptions(app) if row.newsletter_id != 1]
    public_ids = [row.public_id for row in subscriptions(app) if row.email == ADDRESS]
    assert len(public_ids) == 2 and len(in_briefing) == 2

    _, response = erase_through_admin(app, runner, public_ids[0])
    assert response.status_code == 303

    personal = (ADDRESS, LOCAL_PART, *public_ids, SIGNUP_IP, CONFIRM_IP, USER_AGENT, ARTICLE)
    assert traces(app, *personal) == []
    deliver(runner)  # the waiting signup is gone too: nothing brings the reader back
    assert traces(app, ADDRESS, LOCAL_PART) == []
    assert [row.email for row in subscriptions(app)] == ["keeper@example.com"]
    assert counts(app) == {
        "pending": 0,
        "confirmed": 0,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 1,
    }
    assert counts(app, BRIEFING) == {
        "pending": 1,
        "confirmed": 0,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 1,
    }
    assert counts(app, "third") == {
        "pending": 0,
        "confirmed": 0,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 0,
    }


@pytest.fixture
def app_in_instance(tmp_path, sqlite_template):
    """The laptop set-up: the SQLite file and the mail folder (.eml files) in instance/."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(sqlite_template, instance / "newsletter.db")
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "test secret key",
            "PUBLIC_URL": "https://news.example.org",
        }
    )
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'newsletter.db'}"
    assert app.config["MAIL_URL"] is None  # the file transport, writing to instance/mail
    with app.app_context(), database(app).transaction() as session:
        newsletters.seed_default(session)
    yield app
    database(app).engine.dispose()


def files_naming(folder: Path, *needles: str) -> list[str]:
    """Every file under ``folder`` whose bytes hold a needle, in UTF-8, in any case."""
    wanted = [needle.lower().encode("utf-8") for needle in needles]
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and any(needle in path.read_bytes().lower() for needle in wanted)
    )


def mailed_file_link(folder: Path, prefix: str) -> str:
    """The ``prefix`` link of the newest .eml file that has one."""
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        try:
            return link_path(message, prefix)
        except AssertionError:
            continue
    raise AssertionError(f"no {prefix} link in {folder}")


def test_erasure_leaves_the_address_in_no_file_of_the_instance(app_in_instance):
    """Not in the database file, its WAL, its shared memory, nor any .eml file written."""
    app = app_in_instance
    instance = Path(app.instance_path)
    runner = app.test_cli_runner()
    reader = app.test_client()
    assert sign_up(app.test_client(), "keeper@example.com").status_code == 303
    assert sign_up(reader, ADDRESS).status_code == 303
    deliver(runner)
    deliver(runner)
    assert reader.post(mailed_file_link(instance / "mail", "/confirm/")).status_code == 303
    deliver(runner)
    assert len(list((instance / "mail").glob("*.eml"))) == 3
    # As SQLite does by itself once the WAL is 1000 pages long: the rows reach the main file.
    with closing(sqlite3.connect(instance / "newsletter.db")) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert "newsletter.db" in files_naming(instance, ADDRESS)
    assert any(name.endswith(".eml") for name in files_naming(instance, ADDRESS))

    _, response = erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert response.status_code == 303

    assert files_naming(instance, ADDRESS, LOCAL_PART) == []
    # The other reader is still there: the scan would see an address that is.
    assert files_naming(instance, "keeper@example.com")
    assert len(list((instance / "mail").glob("*.eml"))) == 1


def test_erasure_also_forgets_a_signup_not_yet_applied(app, client, runner, mailbox):
    """The reader signs up again just before the erasure: the worker must not bring them back."""
    confirmed_reader(app, runner, mailbox)
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=SIGNUP_IP, HTTP_USER_AGENT=USER_AGENT)
    assert sign_up(browser, ADDRESS.upper(), Referer=ARTICLE).status_code == 303
    assert sign_up(client, "keeper@example.com").status_code == 303  # someone who stays

    _, response = erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert response.status_code == 303

    assert traces(app, ADDRESS, LOCAL_PART, SIGNUP_IP, USER_AGENT, ARTICLE) == []
    deliver(runner)
    assert [row.email for row in subscriptions(app)] == ["keeper@example.com"]
    assert traces(app, LOCAL_PART) == []


def test_erasure_keeps_the_counts_honest(app, client, runner, mailbox):
    assert sign_up(client, "keeper@example.com").status_code == 303
    confirmed_reader(app, runner, mailbox)
    assert counts(app) == {
        "pending": 1,
        "confirmed": 1,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 0,
    }

    _, response = erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert response.status_code == 303
    assert counts(app) == {
        "pending": 1,
        "confirmed": 0,
        "unsubscribed": 0,
        "bounced": 0,
        "erased": 1,
    }


def test_erased_readers_old_links_answer_404(app, runner, mailbox):
    confirm_path, unsubscribe_path = confirmed_reader(app, runner, mailbox)
    reader = app.test_client()
    assert reader.get(unsubscribe_path).status_code == 200  # the links work until then

    _, response = erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert response.status_code == 303

    for path in (confirm_path, unsubscribe_path):
        assert reader.get(path).status_code == 404
        assert reader.post(path).status_code == 404
    one_click = reader.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 404
    assert subscriptions(app) == []


def test_erased_reader_is_not_exported(app, client, runner, mailbox):
    assert sign_up(client, "keeper@example.com").status_code == 303
    confirmed_reader(app, runner, mailbox)
    editor, response = erase_through_admin(app, runner, public_id_of(app, ADDRESS))
    assert response.status_code == 303
    export = editor.get(EXPORT)
    assert export.status_code == 200
    assert b"keeper@example.com" in export.data
    assert LOCAL_PART.lower().encode() not in export.data.lower()


def test_erasing_twice_or_an_unknown_subscriber_is_404(app, runner, mailbox):
    confirmed_reader(app, runner, mailbox)
    public_id = public_id_of(app, ADDRESS)
    editor, response = erase_through_admin(app, runner, public_id)
    assert response.status_code == 303
    token = page_csrf_token(editor.get(f"/admin/newsletters/{SLUG}").text)
    base = f"/admin/newsletters/{SLUG}/subscribers"
    assert editor.post(f"{base}/{public_id}/erase", data={"csrf_token": token}).status_code == 404
    assert editor.post(f"{base}/no-such-id/erase", data={"csrf_token": token}).status_code == 404
    assert counts(app)["erased"] == 1


# --- Purging unconfirmed signups -----------------------------------------------------------


def signed_up_ago(app, client, ages: dict[str, timedelta]) -> None:
    """Sign each address up, then move its signup back in time by its age."""
    for address in ages:
        assert sign_up(client, address).status_code == 303
    deliver(app.test_cli_runner())
    with app.app_context(), database(app).transaction() as session:
        for address, age in ages.items():
            session.execute(
                update(Subscription)
                .where(Subscription.reader.has(email=address))
                .values(signup_at=utcnow() - age, created_at=utcnow() - age)
            )


def orphans(app) -> int:
    """Events and queued mail whose subscription is gone (none may be left behind)."""
    with app.app_context(), database(app).transaction() as session:
        alive = select(Subscription.id)
        return sum(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.subscription_id.is_not(None), model.subscription_id.not_in(alive))
            )
            for model in (SubscriptionEvent, OutboxMessage)
        )


def test_purge_removes_only_stale_pending_signups(app, client, runner, mailbox):
    signed_up_ago(
        app,
        client,
        {
            "stale@example.com": timedelta(days=40),
            "just-stale@example.com": timedelta(days=30, minutes=5),
            "recent@example.com": timedelta(days=29),
            "fresh@example.com": timedelta(0),
            "old-confirmed@example.com": timedelta(0),
        },
    )
    deliver(runner)
    confirm = mailed_link(mailbox, "old-confirmed@example.com", "/confirm/")
    assert app.test_client().post(confirm).status_code == 303
    with app.app_context(), database(app).transaction() as session:
        session.execute(
            update(Subscription)
            .where(Subscription.reader.has(email="old-confirmed@example.com"))
            .values(signup_at=utcnow() - timedelta(days=400))
        )

    result = runner.invoke(args=["purge-pending", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "Purged 2 pending signup(s)" in result.output
    assert sorted(row.email for row in subscriptions(app)) == [
        "fresh@example.com",
        "old-confirmed@example.com",
        "recent@example.com",
    ]
    assert traces(app, "stale@example.com") == []  # their events and mail went with them
    assert orphans(app) == 0


def test_purge_understands_hours_and_minutes(app, client, runner):
    signed_up_ago(
        app,
        client,
        {
            "a@example.com": timedelta(hours=13),
            "b@example.com": timedelta(hours=11),
            "c@example.com": timedelta(minutes=10),
        },
    )
    first = runner.invoke(args=["purge-pending", "--older-than", "12h"])
    assert "Purged 1 pending signup(s)" in first.output
    second = runner.invoke(args=["purge-pending", "--older-than", "90m"])
    assert "Purged 1 pending signup(s)" in second.output
    assert [row.email for row in subscriptions(app)] == ["c@example.com"]


def test_purge_defaults_to_thirty_days(app, client, runner):
    signed_up_ago(
        app,
        client,
        {"old@example.com": timedelta(days=31), "young@example.com": timedelta(days=29)},
    )
    result = runner.invoke(args=["purge-pending"])
    assert result.exit_code == 0
    assert "Purged 1 pending signup(s) older than 30d" in result.output
    assert [row.email for row in subscriptions(app)] == ["young@example.com"]


def test_purge_with_nothing_to_do_says_so(app, client, runner):
    signed_up_ago(app, client, {"young@example.com": timedelta(days=1)})
    result = runner.invoke(args=["purge-pending", "--older-than", "30d"])
    assert result.exit_code == 0
    assert "Purged 0 pending signup(s)" in result.output
    assert len(subscriptions(app)) == 1


@pytest.mark.parametrize("duration", ["30", "30 days", "abc", "-5d", "1w", "", "d", "1.5d"])
def test_purge_with_a_bad_duration_is_a_usage_error(app, client, runner, duration):
    signed_up_ago(app, client, {"stale@example.com": timedelta(days=400)})
    result = runner.invoke(args=["purge-pending", "--older-than", duration])
    assert result.exit_code == 2
    assert "--older-than" in result.output
    assert "Traceback" not in result.output
    assert len(subscriptions(app)) == 1


# --- API tokens ----------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_only_as_a_hash(app, runner):
    result = runner.invoke(args=["tokens", "create", "--name", "nightly ESP sync"])
    assert result.exit_code == 0, result.output
    [secret] = TOKEN_LINE.findall(result.output)
    assert secret.startswith("nl_")
    assert len(secret) >= 40

    [stored] = stored_tokens(app)
    assert stored.name == "nightly ESP sync"
    assert stored.token_hash != secret
    assert traces(app, secret, secret.removeprefix("nl_")) == []

    listed = runner.invoke(args=["tokens", "list"])
    assert listed.exit_code == 0
    assert secret.removeprefix("nl_") not in listed.output
    [line] = listed.output.splitlines()
    assert line.split("\t")[:3] == [str(stored.id), "nightly ESP sync", "active"]
    assert "last used never" in line


def test_each_token_is_different(app, runner):
    secrets = {create_token(runner, name)[1] for name in ("one", "two", "three")}
    assert len(secrets) == 3


def test_token_needs_a_name(app, runner):
    result = runner.invoke(args=["tokens", "create"])
    assert result.exit_code == 2
    assert "--name" in result.output
    assert stored_tokens(app) == []


def test_list_shows_when_a_token_was_last_used(app, runner):
    _, secret = create_token(runner)
    before = utcnow()
    assert app.test_client().get(EXPORT, headers=bearer(secret)).status_code == 200
    days = {f"last used {moment:%Y-%m-%d}" for moment in (before, utcnow())}
    [line] = runner.invoke(args=["tokens", "list"]).output.splitlines()
    assert "last used never" not in line
    assert any(day in line for day in days)


def test_revoked_token_no_longer_exports_and_others_still_do(app, runner):
    revoked_id, revoked = create_token(runner, "old sync")
    _, kept = create_token(runner, "new sync")
    client = app.test_client()
    assert client.get(EXPORT, headers=bearer(revoked)).status_code == 200

    result = runner.invoke(args=["tokens", "revoke", str(revoked_id)])
    assert result.exit_code == 0, result.output
    assert f"Revoked token {revoked_id}" in result.output

    assert client.get(EXPORT, headers=bearer(revoked)).status_code == 401
    assert client.get(EXPORT, headers=bearer(kept)).status_code == 200
    states = [
        line.split("\t")[2] for line in runner.invoke(args=["tokens", "list"]).output.splitlines()
    ]
    assert states[0].startswith("revoked ")
    assert states[1] == "active"


def test_revoking_an_unknown_token_fails_cleanly(app, runner):
    _, secret = create_token(runner)
    result = runner.invoke(args=["tokens", "revoke", "999"])
    assert result.exit_code == 1
    assert "no token 999" in result.output
    assert "Traceback" not in result.output
    assert app.test_client().get(EXPORT, headers=bearer(secret)).status_code == 200


def test_revoking_needs_a_token_number(app, runner):
    result = runner.invoke(args=["tokens", "revoke", "nl_abc"])
    assert result.exit_code == 2
    assert "TOKEN_ID" in result.output
