"""``newsletter import`` in whole batches: an address twice in one batch ends as it would
row by row, several batches of existing and new readers, ``--language`` and our export's
``language`` column, and a bounce no import undoes."""

from sqlalchemy import event
from sqlalchemy import select

from newsletter import newsletters
from newsletter import subscriptions
from newsletter.db import database
from newsletter.import_sql import STAGING_PREFIX
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.subscriptions import Evidence
from tests.conftest import postgresql_only
from tests.reader import SLUG
from tests.reader import count
from tests.test_import import DATA
from tests.test_import import imported
from tests.test_import import run_import
from tests.test_import import statuses
from tests.test_import import write

ANY_CSV = ("--email-column", "email", "--status-column", "status")
OUR_HEADER = (
    "email,status,newsletter,created_at,confirmed_at,unsubscribed_at,source,source_url,"
    "consent_ip,reader_id"
)


def languages(app) -> dict[str, str]:
    """Each address's subscription language in the seeded newsletter."""
    with app.app_context(), database(app).reading_sessions() as session:
        rows = session.execute(
            select(Reader.email, Subscription.language).join(Subscription.reader)
        )
    return dict(rows.all())


def test_an_address_twice_in_one_batch_ends_as_row_by_row(app, runner, tmp_path):
    text = (
        "email,status\n"
        "twice@example.com,confirmed\n"
        "TWICE@example.com,unsubscribed\n"  # the same reader: the address's key
        "back@example.com,unsubscribed\n"
        "back@example.com,confirmed\n"
    )
    report = imported(runner, write(tmp_path, "twice.csv", text), *ANY_CSV)
    assert (report["created"], report["updated"], report["kept opted-out"]) == ("2", "1", "1")
    assert statuses(app) == {
        "twice@example.com": "unsubscribed",
        "back@example.com": "unsubscribed",
    }
    assert count(app, Reader) == 2
    assert count(app, SubscriptionEvent) == 3  # two made, one moved
    with app.app_context(), database(app).reading_sessions() as session:
        left = session.scalars(
            select(Subscription)
            .join(Subscription.reader)
            .where(Reader.email == "twice@example.com")
        ).one()
    assert left.confirmed_at is not None and left.unsubscribed_at is not None


def test_many_batches_of_known_and_new_readers(app, runner, tmp_path):
    first = "email,status\n" + "".join(f"r{n}@example.com,pending\n" for n in range(0, 2500, 2))
    assert imported(runner, write(tmp_path, "first.csv", first), *ANY_CSV)["created"] == "1250"
    every = "email,status\n" + "".join(f"r{n}@example.com,confirmed\n" for n in range(2500))
    report = imported(runner, write(tmp_path, "every.csv", every), *ANY_CSV)
    assert (report["created"], report["updated"], report["unchanged"]) == ("1250", "1250", "0")
    assert set(statuses(app).values()) == {"confirmed"}
    again = imported(runner, write(tmp_path, "every.csv", every), *ANY_CSV)
    assert (again["created"], again["updated"], again["unchanged"]) == ("0", "0", "2500")
    assert count(app, SubscriptionEvent) == 2500 + 1250


def test_language_option_sets_the_imported_subscriptions_language(app, runner):
    imported(runner, DATA / "ghost_members.csv", "--language", "uk")
    assert languages(app) == {"reader@example.com": "uk", "quiet@example.com": "uk"}


def test_without_a_language_the_newsletter_s_is_taken(app, runner):
    imported(runner, DATA / "ghost_members.csv")
    assert set(languages(app).values()) == {"en"}


def test_an_unknown_language_option_is_refused_and_nothing_changes(app, runner):
    result = run_import(runner, DATA / "ghost_members.csv", "--language", "ru")
    assert result.exit_code == 2
    assert "--language" in result.output and "'ru' is not one of 'en', 'uk'" in result.output
    assert count(app, Reader) == 0


def test_our_export_s_language_column_is_read(app, runner, tmp_path):
    rows = (
        f"{OUR_HEADER},language\n"
        f"olena@example.com,confirmed,{SLUG},,,,web,,,,uk\n"
        f"ann@example.com,confirmed,{SLUG},,,,web,,,,\n"
        f"bad@example.com,confirmed,{SLUG},,,,web,,,,klingon\n"
    )
    report = imported(runner, write(tmp_path, "ours.csv", rows))
    assert report["created"] == "2"
    assert report["skipped (invalid)"] == "1"
    assert languages(app) == {"olena@example.com": "uk", "ann@example.com": "en"}
    result = run_import(runner, write(tmp_path, "again.csv", rows))
    assert "line 4: unknown language 'klingon'" in result.output


def test_the_language_option_overrides_the_file_s_column(app, runner, tmp_path):
    rows = f"{OUR_HEADER},language\nolena@example.com,confirmed,{SLUG},,,,web,,,,en\n"
    imported(runner, write(tmp_path, "ours.csv", rows), "--language", "uk")
    assert languages(app) == {"olena@example.com": "uk"}


def test_an_import_never_undoes_a_bounce(app, runner, tmp_path):
    imported(runner, DATA / "mailchimp_cleaned.csv")
    for status in ("unsubscribed", "confirmed", "pending"):
        path = write(tmp_path, f"{status}.csv", f"email,status\ngone@example.com,{status}\n")
        report = imported(runner, path, *ANY_CSV)
        assert report["updated"] == "0"
    assert statuses(app) == {"gone@example.com": "bounced"}


def test_the_source_s_ips_are_kept_in_canonical_form_and_garbage_is_not(app, runner, tmp_path):
    header = (DATA / "mailchimp_subscribed.csv").read_text(encoding="utf-8").splitlines()[0]
    lines = [header]
    for email, optin, confirm in (
        ("four@example.com", " 203.0.113.7 ", "010.1.1.1"),
        ("six@example.com", "2001:DB8:0::1", "not an ip"),
    ):
        cells = dict.fromkeys(header.split(","), "")
        cells |= {"Email Address": email, "OPTIN_IP": optin, "CONFIRM_IP": confirm}
        lines.append(",".join(cells.values()))
    path = write(tmp_path, "ips.csv", "\n".join(lines) + "\n")
    imported(runner, path)
    with app.app_context(), database(app).reading_sessions() as session:
        found = session.execute(
            select(Reader.email, Subscription.signup_ip, Subscription.confirmed_ip).join(
                Subscription.reader
            )
        )
        evidence = {email: (signup, confirmed) for email, signup, confirmed in found}
    assert evidence == {
        "four@example.com": ("203.0.113.7", None),
        "six@example.com": ("2001:db8::1", None),
    }


@postgresql_only
def test_a_signup_applied_while_a_batch_runs_is_taken_as_it_is(app, runner, tmp_path):
    # On PostgreSQL another writer can add an address between a batch's lookups and its
    # inserts (SQLite's writer holds the file). Here the mail worker applies two signups
    # at those moments: a new reader's, and a known reader's to this newsletter.
    other = ["newsletters", "create", "--slug", "other", "--name", "Other"]
    assert runner.invoke(args=other).exit_code == 0
    db = database(app)
    with app.app_context(), db.transaction() as session:
        signup(session, "other", "known@example.com")
    late = {
        f"{STAGING_PREFIX}reader": "late@example.com",
        f"{STAGING_PREFIX}subscription": "known@example.com",
    }

    def sign_up_first(_conn, _cursor, statement, *_args) -> None:
        for staged, address in list(late.items()):
            if statement.startswith(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} "):
                del late[staged]
                with db.transaction() as session:
                    signup(session, SLUG, address)

    event.listen(db.engine, "before_cursor_execute", sign_up_first)
    text = "email,status\nknown@example.com,confirmed\nlate@example.com,confirmed\n"
    report = imported(runner, write(tmp_path, "list.csv", text), *ANY_CSV)
    assert not late  # both signups came in the middle of the batch
    assert (report["created"], report["updated"]) == ("0", "2")  # pending → confirmed
    assert statuses(app) == {"known@example.com": "confirmed", "late@example.com": "confirmed"}
    assert count(app, Reader) == 2


def signup(session, slug: str, address: str) -> None:
    """A signup as the mail worker applies it: a pending subscription and its email."""
    newsletter = newsletters.get_by_slug(session, slug)
    subscriptions.subscribe(session, newsletter, address, Evidence(source="web"))
