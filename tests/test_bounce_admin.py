"""What editors see of bounces and complaints: the badges on the list and the reader's page,
the filters, the history with the provider's evidence, and the export's columns."""

import csv
import io
import re

from tests.admin_steps import signed_in_client
from tests.bounce_steps import confirmed_reader
from tests.bounce_steps import report_file
from tests.reader import SLUG
from tests.reader import shown_text

BOUNCER = "gone@example.com"
COMPLAINER = "angry@example.com"
STAYER = "happy@example.com"


def readers_with_a_bounce_and_a_complaint(client, runner, mailbox, tmp_path):
    """Three confirmed readers: one's mail bounced, one complained, one stayed."""
    confirmation, _ = confirmed_reader(client, runner, mailbox, BOUNCER)
    _, welcome = confirmed_reader(client, runner, mailbox, COMPLAINER)
    confirmed_reader(client, runner, mailbox, STAYER)
    bounce = report_file(tmp_path, "postfix-hard.eml", confirmation, BOUNCER)
    complaint = report_file(tmp_path, "outlook-arf.eml", welcome, COMPLAINER)
    result = runner.invoke(args=["bounces", "ingest", str(bounce), str(complaint)])
    assert result.exit_code == 0, result.output


def listed(editor, status: str = "") -> str:
    response = editor.get(f"/admin/newsletters/{SLUG}", query_string={"status": status})
    assert response.status_code == 200
    return shown_text(response.text)


def test_the_list_shows_and_filters_bounced_and_complained(app, client, runner, mailbox, tmp_path):
    readers_with_a_bounce_and_a_complaint(client, runner, mailbox, tmp_path)
    editor = signed_in_client(app, runner)
    everyone = listed(editor)
    assert f"{BOUNCER} bounced" in everyone
    assert f"{COMPLAINER} unsubscribed complained" in everyone
    assert f"{STAYER} confirmed" in everyone

    bounced = listed(editor, "bounced")
    assert BOUNCER in bounced and COMPLAINER not in bounced and STAYER not in bounced
    complained = listed(editor, "complained")
    assert COMPLAINER in complained and BOUNCER not in complained and STAYER not in complained
    assert "who complained" in complained
    assert editor.get(f"/admin/newsletters/{SLUG}?status=spam").status_code == 400


def test_the_reader_page_shows_the_complaint_and_its_evidence(
    app, client, runner, mailbox, tmp_path
):
    readers_with_a_bounce_and_a_complaint(client, runner, mailbox, tmp_path)
    editor = signed_in_client(app, runner)
    page = editor.get(f"/admin/newsletters/{SLUG}", query_string={"q": COMPLAINER})
    [path] = re.findall(r'href="(/admin/newsletters/[^"]+/subscribers/[^"/]+)"', page.text)
    text = shown_text(editor.get(path).text)
    assert "unsubscribed complained" in text
    assert "Complained" in text and "marked our mail as spam" in text
    assert "complained — newsletter bounces ingest file: ARF abuse Hotmail FBL" in text


def test_the_export_has_the_bounced_status_and_the_complaint(
    app, client, runner, mailbox, tmp_path
):
    readers_with_a_bounce_and_a_complaint(client, runner, mailbox, tmp_path)
    output = tmp_path / "export.csv"
    result = runner.invoke(args=["export", "--newsletter", SLUG, "-o", str(output)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8-sig"))))
    by_address = {row["email"]: row for row in rows}
    assert by_address[BOUNCER]["status"] == "bounced"
    assert by_address[BOUNCER]["complained_at"] == ""
    assert by_address[COMPLAINER]["status"] == "unsubscribed"
    assert by_address[COMPLAINER]["complained_at"].endswith("Z")
    assert by_address[STAYER]["complained_at"] == ""
    only_bounced = tmp_path / "bounced.csv"
    runner.invoke(
        args=["export", "--newsletter", SLUG, "--status", "bounced", "-o", str(only_bounced)]
    )
    assert [
        row["email"] for row in csv.DictReader(io.StringIO(only_bounced.read_text("utf-8-sig")))
    ] == [BOUNCER]
