"""A bounced address (a Mailchimp "cleaned" row, imported): no manage link is mailed to a
reader whose every subscription bounced, and the admin says why it offers no unsubscribe
instead of turning the bounce into an unsubscription."""

from newsletter.models import OutboxMessage
from newsletter.models import SubscriptionStatus
from tests.admin_steps import page_csrf_token
from tests.reader import SLUG
from tests.reader import count
from tests.reader import deliver
from tests.several import BRIEFING
from tests.several import add_newsletters
from tests.test_admin_pages import act
from tests.test_admin_pages import editor  # noqa: F401 (a fixture)
from tests.test_admin_pages import stored
from tests.test_admin_pages import stored_in
from tests.test_admin_pages import subscriber_url
from tests.test_import import DATA
from tests.test_import import imported
from tests.test_manage_link import ask_for_link
from tests.test_manage_link import stored_requests

GONE = "gone@example.com"  # the address of mailchimp_cleaned.csv


def test_no_manage_link_goes_to_a_reader_whose_only_subscription_bounced(
    app, client, runner, mailbox
):
    imported(runner, DATA / "mailchimp_cleaned.csv")
    answer = ask_for_link(client, GONE)
    assert (answer.status_code, answer.location) == (303, "/manage/sent")  # as for anyone
    deliver(runner)
    assert stored_requests(app) == []  # answered: by nothing
    assert count(app, OutboxMessage) == 0
    assert mailbox.messages == []


def test_a_reader_with_another_subscription_gets_the_manage_link(
    app, client, runner, mailbox, tmp_path
):
    add_newsletters(app)
    imported(runner, DATA / "mailchimp_cleaned.csv")
    confirmed = tmp_path / "confirmed.csv"
    confirmed.write_text(f"email\n{GONE}\n", encoding="utf-8")
    arguments = ["import", "--newsletter", BRIEFING, "--email-column", "email", str(confirmed)]
    assert runner.invoke(args=arguments).exit_code == 0
    ask_for_link(client, GONE)
    deliver(runner)
    [message] = mailbox.messages
    assert message["To"] == GONE
    assert stored_in(app, SLUG, GONE).status is SubscriptionStatus.BOUNCED


def test_the_admin_offers_no_unsubscribe_for_a_bounced_address_and_keeps_the_bounce(
    app,
    runner,
    editor,  # noqa: F811 (the fixture)
):
    imported(runner, DATA / "mailchimp_cleaned.csv")
    url = subscriber_url(editor, GONE)
    page = editor.get(url).text
    assert "This address bounced: nothing is sent to it" in page
    assert f'action="{url}/unsubscribe"' not in page
    # A POST all the same (an old tab): refused, said why, the bounce kept.
    refused = editor.post(f"{url}/unsubscribe", data={"csrf_token": page_csrf_token(page)})
    assert refused.status_code == 303
    assert "nothing to unsubscribe" in editor.get(url).text
    assert stored(app, GONE).status is SubscriptionStatus.BOUNCED


def test_a_confirmed_reader_is_still_unsubscribed_by_the_admin(app, runner, editor):  # noqa: F811
    imported(runner, DATA / "ghost_members.csv")
    url = subscriber_url(editor, "reader@example.com")
    assert act(editor, url, "unsubscribe").status_code == 303
    assert stored(app, "reader@example.com").status is SubscriptionStatus.UNSUBSCRIBED
