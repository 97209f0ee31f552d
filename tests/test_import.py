"""``newsletter import``: each provider's export, statuses, opt-outs kept, no email, the
same file twice, our own export round trip, bad rows, encodings, and a resumed import."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from tests.reader import SLUG
from tests.reader import count
from tests.reader import deliver
from tests.reader import sign_up

DATA = Path(__file__).parent / "data" / "import"
# Our export's columns, as the round trip compares them: ``reader_id`` is left out, since
# it is the reader's public id, minted anew (unguessable, in links) by the database that
# makes the reader; taking it from a file would let whoever wrote the file choose it.
COMPARED = slice(0, 9)


def run_import(runner, path: Path, *options: str):
    """Run ``newsletter import --newsletter SLUG PATH OPTIONS``."""
    return runner.invoke(args=["import", "--newsletter", SLUG, str(path), *options])


def imported(runner, path: Path, *options: str) -> dict[str, str]:
    """Import, expecting success; the report's counts by name."""
    result = run_import(runner, path, *options)
    assert result.exit_code == 0, result.output
    return report_counts(result.output)


def report_counts(output: str) -> dict[str, str]:
    """``created: 2`` lines of the report, as a dict."""
    pairs = (line.split(": ", 1) for line in output.splitlines() if not line.startswith(" "))
    return {name: value for name, value in pairs if name != "Format"}


def statuses(app) -> dict[str, str]:
    """Each address's status in the seeded newsletter."""
    with app.app_context(), database(app).reading_sessions() as session:
        rows = session.execute(
            select(Reader.email, Subscription.status)
            .join(Subscription.reader)
            .join(Subscription.newsletter)
            .where(Newsletter.slug == SLUG)
        ).all()
    return {email: status.value for email, status in rows}


def subscription_of(app, email: str) -> Subscription:
    """The subscription of ``email``, as stored."""
    with app.app_context(), database(app).reading_sessions() as session:
        return session.scalars(
            select(Subscription).join(Subscription.reader).where(Reader.email == email)
        ).one()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A CSV file of this text, in this encoding."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "mailchimp_subscribed.csv",
            {"olena@example.com": "confirmed", "taras@приклад.укр": "confirmed"},
        ),
        ("mailchimp_unsubscribed.csv", {"left@example.com": "unsubscribed"}),
        ("mailchimp_cleaned.csv", {"gone@example.com": "bounced"}),
        (
            "ghost_members.csv",
            {"reader@example.com": "confirmed", "quiet@example.com": "unsubscribed"},
        ),
        (
            "substack_email_list.csv",
            {"paid@example.com": "confirmed", "muted@example.com": "unsubscribed"},
        ),
        (
            "listmonk_subscribers.csv",
            {"enabled@example.com": "confirmed", "blocked@example.com": "unsubscribed"},
        ),
    ],
)
def test_each_providers_export_is_recognised_with_its_statuses(app, runner, fixture, expected):
    report = imported(runner, DATA / fixture)
    assert report["created"] == str(len(expected))
    assert statuses(app) == expected
    assert count(app, OutboxMessage) == 0


def test_a_confirmed_import_keeps_the_sources_evidence_and_records_itself(app, runner, mailbox):
    imported(runner, DATA / "mailchimp_subscribed.csv")
    subscription = subscription_of(app, "olena@example.com")
    assert subscription.signup_at.isoformat() == "2023-04-21T11:16:57+00:00"
    assert subscription.signup_ip == "203.0.113.7"
    assert subscription.confirmed_at.isoformat() == "2023-04-21T11:18:02+00:00"
    assert subscription.confirmed_ip == "203.0.113.8"
    assert subscription.source == "import"
    with app.app_context(), database(app).reading_sessions() as session:
        event = session.scalars(
            select(SubscriptionEvent).where(SubscriptionEvent.subscription_id == subscription.id)
        ).one()
    assert event.kind == EventKind.IMPORTED
    assert "mailchimp file mailchimp_subscribed.csv sha256:" in event.detail
    assert event.detail.endswith(" by CLI")
    # No email: not now, not when the worker runs.
    deliver(runner)
    assert count(app, OutboxMessage) == 0
    assert mailbox.messages == []


def test_the_same_file_twice_changes_nothing_the_second_time(app, runner):
    first = imported(runner, DATA / "ghost_members.csv")
    assert (first["created"], first["unchanged"]) == ("2", "0")
    events = count(app, SubscriptionEvent)
    second = imported(runner, DATA / "ghost_members.csv")
    assert (second["created"], second["updated"], second["unchanged"]) == ("0", "0", "2")
    assert count(app, SubscriptionEvent) == events


def test_an_address_that_left_here_is_never_made_a_subscriber(app, runner, tmp_path):
    imported(runner, DATA / "mailchimp_cleaned.csv")
    imported(runner, DATA / "mailchimp_unsubscribed.csv")
    again = write(
        tmp_path,
        "again.csv",
        "email,status\ngone@example.com,subscribed\nleft@example.com,subscribed\n",
    )
    report = imported(runner, again, "--email-column", "email", "--status-column", "status")
    assert report["kept opted-out"] == "2"
    assert statuses(app) == {"gone@example.com": "bounced", "left@example.com": "unsubscribed"}


def test_an_opt_out_elsewhere_ends_a_subscription_here(app, runner, tmp_path):
    imported(runner, DATA / "ghost_members.csv")
    gone = write(tmp_path, "gone.csv", "address,state\nreader@example.com,gone\n")
    report = imported(
        runner,
        gone,
        "--email-column",
        "address",
        "--status-column",
        "state",
        "--status-map",
        "gone=bounced",
    )
    assert report["updated"] == "1"
    assert statuses(app)["reader@example.com"] == "bounced"


def test_a_bounced_address_gets_no_mail_until_the_reader_signs_up_again(
    app, client, runner, mailbox
):
    imported(runner, DATA / "mailchimp_cleaned.csv")
    deliver(runner)
    assert statuses(app) == {"gone@example.com": "bounced"}
    assert mailbox.messages == []  # the import itself mails nobody
    sign_up(client, "gone@example.com")
    deliver(runner)
    assert statuses(app) == {"gone@example.com": "pending"}  # a new double opt-in
    assert [message["To"] for message in mailbox.messages] == ["gone@example.com"]


def test_our_export_imported_into_an_empty_database_exports_the_same(
    app, client, runner, tmp_path, settings
):
    for email in ("one@example.com", "two@example.com", "three@example.com"):
        sign_up(client, email)
    deliver(runner)
    imported(runner, DATA / "mailchimp_subscribed.csv")
    imported(runner, DATA / "mailchimp_cleaned.csv")
    exported = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--newsletter", SLUG, "-o", str(exported)]).exit_code == 0

    with app.app_context(), database(app).transaction() as session:
        session.query(Reader).delete()  # the subscriptions go with their readers
    report = imported(runner, exported)
    assert report["created"] == "6"
    again = tmp_path / "again.csv"
    assert runner.invoke(args=["export", "--newsletter", SLUG, "-o", str(again)]).exit_code == 0
    assert rows(again) == rows(exported)


def rows(path: Path) -> list[list[str]]:
    """A CSV export's rows, without the columns that may differ (see ``COMPARED``)."""
    text = path.read_text(encoding="utf-8-sig")
    return [row[COMPARED] for row in csv.reader(io.StringIO(text))]


def test_bad_rows_are_reported_by_line_and_the_rest_imported(app, runner, tmp_path):
    bad = write(
        tmp_path,
        "bad.csv",
        "email,status\n"
        "fine@example.com,subscribed\n"
        "not an address,subscribed\n"
        '"quoted\nacross lines@example",subscribed\n'
        "odd@example.com,maybe\n"
        "also.fine@example.com,unsubscribed\n",
    )
    result = run_import(runner, bad, "--email-column", "email", "--status-column", "status")
    assert result.exit_code == 0, result.output
    assert "skipped (invalid): 3" in result.output
    assert "line 3: invalid address 'not an address'" in result.output
    assert "line 4: invalid address" in result.output
    assert "line 6: unknown status 'maybe'" in result.output
    assert statuses(app) == {
        "fine@example.com": "confirmed",
        "also.fine@example.com": "unsubscribed",
    }


def test_dry_run_prints_the_report_and_changes_nothing(app, runner):
    result = run_import(runner, DATA / "ghost_members.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was changed." in result.output
    assert report_counts(result.output)["created"] == "2"
    assert count(app, Reader) == 0
    assert count(app, Subscription) == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_are_read(app, runner, tmp_path, encoding):
    path = write(tmp_path, "list.csv", "email\nолена@приклад.укр\n", encoding)
    imported(runner, path, "--email-column", "email")
    assert statuses(app) == {"олена@приклад.укр": "confirmed"}


def test_windows_1251_is_refused_before_anything_is_imported(app, runner, tmp_path):
    text = "email,name\nfirst@example.com,Ann\nolena@example.com,Олена Коваленко\n"
    path = write(tmp_path, "excel.csv", text, "cp1251")
    result = run_import(runner, path, "--email-column", "email")
    assert result.exit_code != 0
    assert "not UTF-8" in result.output and "Windows-1251" in result.output
    assert count(app, Reader) == 0


def test_an_unknown_header_asks_for_the_email_column(app, runner, tmp_path):
    path = write(tmp_path, "list.csv", "E-mail\nann@example.com\n")
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "--email-column" in result.output


@pytest.fixture
def settings(settings):
    """Batches of two rows, so that a short file spans several transactions."""
    return {**settings, "IMPORT_BATCH_SIZE": 2}


def test_an_import_that_breaks_off_keeps_whole_batches_and_a_rerun_completes_it(
    app, runner, tmp_path
):
    # Line 5 holds a cell past the csv module's field size limit: the reader stops there,
    # in the second batch. The first batch is in; nothing of the second is.
    rows_before = "email\na1@example.com\na2@example.com\na3@example.com\n"
    broken = rows_before + '"' + "x" * (csv.field_size_limit() + 1) + '"\na5@example.com\n'
    path = write(tmp_path, "broken.csv", broken)
    result = run_import(runner, path, "--email-column", "email")
    assert result.exit_code != 0
    assert "line 5" in result.output
    assert set(statuses(app)) == {"a1@example.com", "a2@example.com"}

    fixed = write(tmp_path, "fixed.csv", rows_before + "a5@example.com\n")
    report = imported(runner, fixed, "--email-column", "email")
    assert (report["unchanged"], report["created"]) == ("2", "2")
    assert len(statuses(app)) == 4
