"""Readers' self-service on the manage page: "Download my data" (JSON and CSV) holds
exactly the reader's data and nobody else's; "Erase me" asks first, then erases as an
editor would, and emails the reader that it was done, leaving no trace of the address in
any table or any file of the instance.
"""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import OutboxMessage
from tests.admin_steps import mailed_link
from tests.reader import deliver
from tests.reader import shown_text
from tests.reader import sign_up
from tests.reader import subscriptions
from tests.test_erasure import ADDRESS
from tests.test_erasure import ARTICLE
from tests.test_erasure import BRIEFING
from tests.test_erasure import CONFIRM_IP
from tests.test_erasure import LOCAL_PART
from tests.test_erasure import SIGNUP_IP
from tests.test_erasure import USER_AGENT
from tests.test_erasure import app_in_instance  # noqa: F401 (a fixture)
from tests.test_erasure import confirmed_reader
from tests.test_erasure import counts
from tests.test_erasure import files_naming
from tests.test_erasure import mailed_file_link
from tests.test_erasure import traces

OTHER = "keeper@example.com"
OTHER_IP = "198.51.100.200"
OTHER_AGENT = "KeeperBrowser/1.0"
ERASED_SUBJECT = "Your data has been erased"


def other_reader(app, runner, mailbox) -> str:
    """Another reader, confirmed, with evidence of their own; their manage link."""
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=OTHER_IP, HTTP_USER_AGENT=OTHER_AGENT)
    assert sign_up(browser, OTHER).status_code == 303
    deliver(runner)
    assert browser.post(mailed_link(mailbox, OTHER, "/confirm/")).status_code == 303
    deliver(runner)
    return mailed_link(mailbox, OTHER, "/manage/")


@pytest.fixture
def two_readers(app, client, runner, mailbox) -> tuple[str, str]:
    """The reader (in two newsletters, the second joined from the manage page) and
    another; both manage links."""
    result = runner.invoke(args=["newsletters", "create", "--slug", BRIEFING, "--name", "B"])
    assert result.exit_code == 0, result.output
    other_manage = other_reader(app, runner, mailbox)
    confirmed_reader(app, runner, mailbox)
    manage = mailed_link(mailbox, ADDRESS, "/manage/")
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=CONFIRM_IP, HTTP_USER_AGENT=USER_AGENT)
    joined = browser.post(manage, data={"action": "join", "newsletter": BRIEFING})
    assert joined.status_code == 303
    return manage, other_manage


def test_the_manage_page_offers_the_downloads_and_erasure(app, two_readers):
    manage, _ = two_readers
    page = app.test_client().get(manage)
    assert f'href="{manage}/data.json"' in page.text
    assert f'href="{manage}/data.csv"' in page.text
    assert f'href="{manage}/erase"' in page.text


def test_the_json_download_holds_the_readers_data_and_nobody_elses(app, two_readers):
    manage, _ = two_readers
    response = app.test_client().get(f"{manage}/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="my-newsletter-data.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    assert data["email"] == ADDRESS
    by_newsletter = {each["newsletter"]: each for each in data["subscriptions"]}
    assert set(by_newsletter) == {"explaining-ukraine", BRIEFING}
    first = by_newsletter["explaining-ukraine"]
    assert first["status"] == "confirmed"
    assert (first["signup_ip"], first["signup_user_agent"], first["source_url"]) == (
        SIGNUP_IP,
        USER_AGENT,
        ARTICLE,
    )
    assert first["confirmed_ip"] == CONFIRM_IP and first["confirmed_at"].endswith("Z")
    assert [event["kind"] for event in first["history"]] == ["signup", "confirmed"]
    second = by_newsletter[BRIEFING]
    assert (second["source"], second["status"]) == ("manage", "confirmed")
    assert [event["detail"] for event in second["history"]] == ["manage link"] * 2
    for needle in (OTHER, OTHER_IP, OTHER_AGENT, "keeper"):
        assert needle not in response.text


def test_the_csv_download_holds_the_same_rows_and_nobody_elses(app, two_readers):
    manage, other_manage = two_readers
    response = app.test_client().get(f"{manage}/data.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["email"] for row in rows} == {ADDRESS}
    assert sorted((row["newsletter"], row["event_kind"]) for row in rows) == [
        (BRIEFING, "confirmed"),
        (BRIEFING, "signup"),
        ("explaining-ukraine", "confirmed"),
        ("explaining-ukraine", "signup"),
    ]
    [confirmed] = [
        row
        for row in rows
        if (row["newsletter"], row["event_kind"]) == ("explaining-ukraine", "confirmed")
    ]
    assert (confirmed["signup_ip"], confirmed["event_ip"]) == (SIGNUP_IP, CONFIRM_IP)
    for needle in (OTHER, OTHER_IP, OTHER_AGENT):
        assert needle not in text
    # And the other reader's download is theirs alone.
    theirs = app.test_client().get(f"{other_manage}/data.csv").data.decode("utf-8-sig")
    assert OTHER in theirs and OTHER_AGENT in theirs
    assert LOCAL_PART not in theirs and SIGNUP_IP not in theirs


def test_the_csv_download_neutralises_what_a_spreadsheet_would_run(app, client, runner, mailbox):
    browser = app.test_client()
    browser.environ_base.update(HTTP_USER_AGENT="=HYPERLINK(1)")
    assert sign_up(browser, ADDRESS).status_code == 303
    deliver(runner)
    assert browser.post(mailed_link(mailbox, ADDRESS, "/confirm/")).status_code == 303
    deliver(runner)
    manage = mailed_link(mailbox, ADDRESS, "/manage/")
    text = client.get(f"{manage}/data.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["signup_user_agent"] == "'=HYPERLINK(1)"
    assert client.get(f"{manage}/data.json").json["subscriptions"][0]["signup_user_agent"] == (
        "=HYPERLINK(1)"
    )


@pytest.mark.parametrize("suffix", ["/data.json", "/data.csv", "/erase"])
def test_a_bad_token_opens_no_data(app, client, two_readers, suffix):
    manage, _ = two_readers
    for path in (f"{manage[:-3]}{suffix}", f"/manage/nonsense{suffix}"):
        assert client.get(path).status_code == 404
    assert client.post(f"/manage/nonsense{suffix}").status_code in (404, 405)
    assert client.get(f"{manage}/data.xml").status_code == 404
    assert len(subscriptions(app)) == 3


def test_erase_me_asks_first_and_the_asking_changes_nothing(app, two_readers):
    manage, _ = two_readers
    page = app.test_client().get(f"{manage}/erase")
    assert page.status_code == 200
    words = shown_text(page.text)
    assert "Erase your data?" in words and "It cannot be undone." in words
    assert f'action="{manage}/erase"' in page.text
    assert len(subscriptions(app)) == 3


def test_erase_me_erases_everywhere_and_says_so_by_email(app, runner, mailbox, two_readers):
    manage, other_manage = two_readers
    public_ids = [row.public_id for row in subscriptions(app) if row.email == ADDRESS]
    personal = (ADDRESS, LOCAL_PART, *public_ids, SIGNUP_IP, CONFIRM_IP, USER_AGENT, ARTICLE)
    assert {needle for _, _, needle in traces(app, *personal)} == set(personal)

    reader = app.test_client()
    response = reader.post(f"{manage}/erase")
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/erased"
    assert "Your data has been erased" in reader.get("/manage/erased").text

    # Until the worker sends it, the notice is the one row that names the address.
    assert {table for table, _, _ in traces(app, *personal)} == {"outbox_message"}
    deliver(runner)
    [notice] = [message for message in mailbox.messages if message["Subject"] == ERASED_SUBJECT]
    assert notice["X-Envelope-To"] == ADDRESS
    assert "we have erased your address" in notice.get_body(("plain",)).get_content()

    assert traces(app, *personal) == []
    assert traces(app, ADDRESS.upper(), LOCAL_PART.lower()) == []
    assert [row.email for row in subscriptions(app)] == [OTHER]
    assert counts(app)["erased"] == 1 and counts(app, BRIEFING)["erased"] == 1
    for path in (manage, f"{manage}/data.json", f"{manage}/erase"):
        assert reader.get(path).status_code == 404
    assert reader.post(f"{manage}/erase").status_code == 404
    assert app.test_client().get(other_manage).status_code == 200


def test_the_erasure_notice_is_in_the_pages_language(app, runner, mailbox, two_readers):
    manage, _ = two_readers
    reader = app.test_client()
    page = reader.get(f"{manage}/erase?lang=uk")
    assert "Стерти ваші дані?" in page.text
    assert reader.post(f"{manage}/erase?lang=uk").status_code == 303
    deliver(runner)
    [notice] = [
        m for m in mailbox.messages if m["X-Envelope-To"] == ADDRESS and "стерто" in m["Subject"]
    ]
    assert "Як ви й просили" in notice.get_body(("plain",)).get_content()


def test_an_erasure_notice_given_up_on_is_not_kept_either(app, runner, two_readers):
    manage, _ = two_readers
    app.config["MAIL_URL"] = "smtp://127.0.0.1:1"  # nobody answers: it fails
    assert app.test_client().post(f"{manage}/erase").status_code == 303
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    with app.app_context(), database(app).transaction() as session:
        session.execute(OutboxMessage.__table__.update().values(attempts=99))
    runner.invoke(args=["worker", "--once"])
    with app.app_context(), database(app).transaction() as session:
        kinds = set(session.scalars(select(OutboxMessage.kind)))
    assert "erasure_notice" not in kinds
    assert traces(app, ADDRESS, LOCAL_PART) == []


def test_erase_me_leaves_the_address_in_no_file_of_the_instance(app_in_instance):  # noqa: F811
    app = app_in_instance
    instance = Path(app.instance_path)
    client, runner = app.test_client(), app.test_cli_runner()
    assert sign_up(app.test_client(), OTHER).status_code == 303
    assert sign_up(client, ADDRESS).status_code == 303
    deliver(runner)
    assert client.post(mailed_file_link(instance / "mail", "/confirm/")).status_code == 303
    deliver(runner)
    manage = mailed_file_link(instance / "mail", "/manage/")
    assert files_naming(instance, ADDRESS)

    assert client.post(f"{manage}/erase").status_code == 303
    deliver(runner)  # writes the notice to instance/mail, then forgets it

    assert files_naming(instance, ADDRESS, LOCAL_PART) == []
    assert files_naming(instance, OTHER)
