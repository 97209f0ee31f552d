"""``newsletter bounces ingest``: RFC 3464 DSNs (Postfix, Exim, Gmail) and an RFC 5965
complaint (Outlook.com), matched by Message-ID or VERP; soft bounces counted; suppression
of mail queued before the report, on a real SMTP server; signing up again lifts it."""

import pytest

from newsletter.models import EventKind
from tests.bounce_steps import BOUNCES
from tests.bounce_steps import READER
from tests.bounce_steps import confirmed_reader
from tests.bounce_steps import events
from tests.bounce_steps import outbox_statuses
from tests.bounce_steps import report_file
from tests.bounce_steps import state
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.several import BRIEFING
from tests.several import add_newsletters


@pytest.fixture
def soft_limit_of_two(settings):
    """Two soft bounces make a bounce (asked for before ``app``)."""
    settings["SOFT_BOUNCE_LIMIT"] = 2


@pytest.fixture
def bounce_address(settings):
    """Mail goes out with VERP return paths (asked for before ``app``)."""
    settings["BOUNCE_ADDRESS"] = "bounces@news.example.org"


def ingest(runner, *paths):
    return runner.invoke(args=["bounces", "ingest", *map(str, paths)])


def test_a_postfix_hard_bounce_makes_the_subscription_bounced(
    app, client, runner, mailbox, tmp_path
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    result = ingest(runner, report_file(tmp_path, "postfix-hard.eml", confirmation))
    assert result.exit_code == 0, result.output
    assert "hard applied" in result.output
    assert state(app) == [(SLUG, "bounced", False, 0)]
    [detail] = events(app, EventKind.BOUNCED)
    assert detail.startswith("file: DSN failed 5.1.1 smtp; 550 5.1.1")


def test_a_gmail_dsn_is_read_through_its_nested_parts(app, client, runner, mailbox, tmp_path):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    result = ingest(runner, report_file(tmp_path, "gmail-hard.eml", confirmation))
    assert result.exit_code == 0, result.output
    assert state(app) == [(SLUG, "bounced", False, 0)]
    assert "NoSuchUser" in events(app, EventKind.BOUNCED)[0]


def test_the_same_report_twice_changes_nothing_the_second_time(
    app, client, runner, mailbox, tmp_path
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    path = report_file(tmp_path, "postfix-hard.eml", confirmation)
    ingest(runner, path)
    again = ingest(runner, path)
    assert again.exit_code == 0
    assert "hard duplicate" in again.output
    assert len(events(app, EventKind.BOUNCED)) == 1


def test_soft_bounces_are_counted_and_enough_of_them_make_a_bounce(
    soft_limit_of_two, app, client, runner, mailbox, tmp_path
):
    _, welcome = confirmed_reader(client, runner, mailbox)
    first = report_file(tmp_path, "exim-soft.eml", welcome)
    assert "soft applied" in ingest(runner, first).output
    assert state(app) == [(SLUG, "confirmed", False, 1)]
    # The same Exim report again (the same Message-Id) is not a second bounce...
    assert "soft duplicate" in ingest(runner, first).output
    assert state(app) == [(SLUG, "confirmed", False, 1)]
    # ...another one is: the limit turns the soft bounces into a bounce.
    second = tmp_path / "exim-soft-2.eml"
    second.write_text(first.read_text().replace("<E1vPq7Y-", "<E1vPzZZ-"))
    assert "soft applied" in ingest(runner, second).output
    assert state(app) == [(SLUG, "bounced", False, 0)]
    assert len(events(app, EventKind.SOFT_BOUNCE)) == 2
    assert "now a bounce" in events(app, EventKind.BOUNCED)[0]


def test_an_outlook_complaint_unsubscribes_with_the_complaint_flag(
    app, client, runner, mailbox, tmp_path
):
    _, welcome = confirmed_reader(client, runner, mailbox)
    result = ingest(runner, report_file(tmp_path, "outlook-arf.eml", welcome))
    assert result.exit_code == 0, result.output
    assert "complaint applied" in result.output
    assert state(app) == [(SLUG, "unsubscribed", True, 0)]
    assert events(app, EventKind.COMPLAINED) == ["file: ARF abuse Hotmail FBL"]
    assert events(app, EventKind.UNSUBSCRIBED) == ["complaint"]


def test_mail_queued_before_a_bounce_is_not_sent_and_a_new_signup_lifts_it(
    app, client, runner, mailbox, tmp_path
):
    sign_up(client, READER)
    deliver(runner)
    [confirmation] = mailbox.messages
    client.post(link_path(confirmation, "/confirm/"))  # the welcome is queued, not sent
    assert ingest(runner, report_file(tmp_path, "postfix-hard.eml", confirmation)).exit_code == 0

    deliver(runner)
    assert mailbox.messages == [confirmation]  # the SMTP server got nothing more
    assert outbox_statuses(app) == [("confirmation", "sent"), ("welcome", "suppressed")]

    sign_up(client, READER)
    deliver(runner)
    assert state(app) == [(SLUG, "pending", False, 0)]
    assert len(mailbox.messages) == 2
    assert mailbox.messages[-1]["Subject"] == confirmation["Subject"]


def test_mail_queued_before_a_complaint_is_not_sent(app, client, runner, mailbox, tmp_path):
    confirmation, welcome = confirmed_reader(client, runner, mailbox)
    # The reader asks for their manage link, then complains about the welcome.
    client.post("/manage", data={"email": READER, "csrf_token": _csrf(client, "/manage")})
    ingest(runner, report_file(tmp_path, "outlook-arf.eml", welcome))
    deliver(runner)
    assert mailbox.messages == [confirmation, welcome]
    assert outbox_statuses(app)[-1] == ("manage_link", "suppressed")


def test_a_complaint_about_one_newsletter_leaves_the_manage_link_to_another(
    app, client, runner, mailbox, tmp_path
):
    add_newsletters(app)
    confirmation, welcome = confirmed_reader(client, runner, mailbox)
    sign_up(client, READER, BRIEFING)
    deliver(runner)
    client.post(link_path(mailbox.messages[-1], "/confirm/"))
    deliver(runner)  # the daily briefing's welcome
    ingest(runner, report_file(tmp_path, "outlook-arf.eml", welcome))
    received = len(mailbox.messages)
    client.post("/manage", data={"email": READER, "csrf_token": _csrf(client, "/manage")})
    deliver(runner)
    [link] = mailbox.messages[received:]
    assert link["To"] == READER and "/manage/" in link.get_body(("plain",)).get_content()
    assert outbox_statuses(app)[-1] == ("manage_link", "sent")


def test_a_report_found_only_by_its_verp_address(
    bounce_address, app, client, runner, mailbox, tmp_path
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    verp = confirmation["X-Envelope-From"]
    token = confirmation["Message-ID"].strip("<>").split("@")[0]
    assert verp == f"bounces+{token}@news.example.org"
    # Exim's report with the returned header cut off: only Envelope-to names the message.
    text = report_file(tmp_path, "exim-soft.eml", confirmation).read_text()
    cut = text.split("Content-type: text/rfc822-headers")[0] + "--1764484812-eximdsn-1804289383--\n"
    hard = cut.replace("Status: 4.2.2", "Status: 5.2.2")
    path = tmp_path / "verp-only.eml"
    path.write_text(hard)
    result = ingest(runner, path)
    assert result.exit_code == 0, result.output
    assert "hard applied" in result.output
    assert state(app) == [(SLUG, "bounced", False, 0)]


def test_a_report_about_no_message_of_ours_changes_nothing(app, client, runner, mailbox, tmp_path):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    path = report_file(tmp_path, "postfix-hard.eml", confirmation)
    path.write_text(path.read_text().replace(confirmation["Message-ID"], "<other.1@elsewhere>"))
    result = ingest(runner, path)
    assert result.exit_code == 0
    assert "hard unknown" in result.output
    assert state(app) == [(SLUG, "confirmed", False, 0)]


def test_a_report_naming_another_recipient_changes_nothing(app, client, runner, mailbox, tmp_path):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    path = report_file(tmp_path, "postfix-hard.eml", confirmation, recipient="else@example.com")
    assert "hard unknown" in ingest(runner, path).output
    assert state(app) == [(SLUG, "confirmed", False, 0)]


def test_a_file_that_is_no_report_is_refused_and_the_others_applied(
    app, client, runner, mailbox, tmp_path
):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    good = report_file(tmp_path, "postfix-hard.eml", confirmation)
    result = ingest(runner, BOUNCES / "not-a-report.eml", good)
    assert result.exit_code == 1
    assert "not a bounce or complaint report" in result.output
    assert "unreadable: 1" in result.output
    assert state(app) == [(SLUG, "bounced", False, 0)]


def test_a_delay_warning_is_no_bounce(app, client, runner, mailbox, tmp_path):
    confirmation, _ = confirmed_reader(client, runner, mailbox)
    path = report_file(tmp_path, "postfix-hard.eml", confirmation)
    path.write_text(path.read_text().replace("Action: failed", "Action: delayed"))
    result = ingest(runner, path)
    assert result.exit_code == 0
    assert "no bounce" in result.output
    assert state(app) == [(SLUG, "confirmed", False, 0)]


def _csrf(client, path: str) -> str:
    return csrf_token(client.get(path).text)
