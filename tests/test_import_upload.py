"""The admin's import upload: the file stored as a job, a worker runs it through the same
code as ``newsletter import``, the job's page shows the progress and then the report; bad
files, dry runs, the size cap, who may, and a job taken over from a worker that died."""

import io
import json
import re
from datetime import timedelta

from sqlalchemy import select

from newsletter.access_models import AuditAction
from newsletter.access_models import AuditEntry
from newsletter.db import database
from newsletter.import_jobs import MAX_ATTEMPTS
from newsletter.import_jobs import ImportJob
from newsletter.import_jobs import ImportJobChunk
from newsletter.import_jobs import claim
from tests.admin_steps import EDITOR
from tests.admin_steps import create_editor
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import shown_text
from tests.test_import import DATA
from tests.test_import import statuses
from tests.test_import import subscription_of
from tests.workers import run_workers

FORM = f"/admin/newsletters/{SLUG}/import"
JOB_PATH = re.compile(rf"/admin/newsletters/{SLUG}/imports/(\d+)$")
# A list of no known export: its address column is named in the form.
PLAIN = b"Email\nolena@example.com\nnot an address\n"


def upload(client, content: bytes, name: str = "list.csv", **fields: str):
    """Fill the import form with this file (and these fields) and send it."""
    page = client.get(FORM)
    assert page.status_code == 200
    data = {"csrf_token": page_csrf_token(page.text), **fields}
    data["file"] = (io.BytesIO(content), name)
    return client.post(FORM, data=data, content_type="multipart/form-data")


def uploaded(client, content: bytes, **fields: str) -> str:
    """Upload, expecting the redirect to the new job's page; its path."""
    response = upload(client, content, **fields)
    assert response.status_code == 303, response.text
    path = response.headers["Location"]
    assert JOB_PATH.search(path), path
    return path


def run_worker(runner) -> str:
    """``newsletter worker --once``; its output."""
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def report_of(client, path: str) -> dict[str, str]:
    """The job page's report: each count by its name."""
    page = client.get(path)
    assert page.status_code == 200
    facts = re.search(r'<dl class="admin__facts" id="import-report">(.*?)</dl>', page.text, re.S)
    assert facts, shown_text(page.text)
    names = re.findall(r"<dt>(.*?)</dt>", facts.group(1))
    values = [
        re.sub(r"<[^>]+>", "", value)
        for value in re.findall(r"<dd[^>]*>(.*?)</dd>", facts.group(1))
    ]
    return dict(zip(names, values, strict=True))


def test_upload_runs_in_the_worker_and_the_page_shows_the_report(app, runner):
    client = signed_in_client(app, runner)
    assert "Import a list" in client.get(f"/admin/newsletters/{SLUG}").text
    path = uploaded(client, (DATA / "mailchimp_subscribed.csv").read_bytes())

    waiting = client.get(path)
    assert "Waiting for a worker" in shown_text(waiting.text)
    assert 'aria-live="polite"' in waiting.text
    assert 'http-equiv="refresh"' in waiting.text  # without script, the page reloads itself
    assert json.loads(client.get(f"{path}.json").text)["state"] == "waiting for a worker"

    assert "Ran 1 import(s)." in run_worker(runner)
    progress = json.loads(client.get(f"{path}.json").text)
    assert (progress["state"], progress["ended"], progress["percent"]) == ("done", True, 100)
    assert report_of(client, path) == {
        "Format": "mailchimp",
        "File SHA-256": report_of(client, path)["File SHA-256"],
        "Created": "2",
        "Updated": "0",
        "Unchanged": "0",
        "Kept opted-out": "0",
        "Skipped (invalid)": "0",
    }
    assert 'http-equiv="refresh"' not in client.get(path).text
    assert statuses(app) == {"olena@example.com": "confirmed", "taras@приклад.укр": "confirmed"}
    with app.app_context(), database(app).reading_sessions() as session:
        assert session.scalars(select(ImportJobChunk)).all() == []  # the file is gone
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == AuditAction.IMPORT)
        ).all()
    assert entry.actor == EDITOR
    # The same file again: nothing changes.
    again = uploaded(client, (DATA / "mailchimp_subscribed.csv").read_bytes())
    run_worker(runner)
    assert report_of(client, again)["Unchanged"] == "2"


def test_skipped_lines_and_the_options_of_the_command(app, runner):
    client = signed_in_client(app, runner)
    text = "Mail,State\nada@example.com,active\ngrace@example.com,gone\nnope,active\n"
    path = uploaded(
        client,
        text.encode(),
        email_column="Mail",
        status_column="State",
        status_map="active=confirmed,gone=unsubscribed",
        language="uk",
    )
    run_worker(runner)
    report = report_of(client, path)
    assert (report["Format"], report["Created"], report["Skipped (invalid)"]) == ("csv", "2", "1")
    skipped = re.findall(r'<th scope="row">(\d+)</th><td[^>]*>([^<]*)</td>', client.get(path).text)
    assert skipped == [("4", "invalid address &#39;nope&#39;")]
    assert statuses(app) == {"ada@example.com": "confirmed", "grace@example.com": "unsubscribed"}
    assert subscription_of(app, "ada@example.com").language == "uk"


def test_a_dry_run_reports_and_changes_nothing(app, runner):
    client = signed_in_client(app, runner)
    path = uploaded(client, PLAIN, email_column="Email", dry_run="y")
    run_worker(runner)
    page = shown_text(client.get(path).text)
    assert "Dry run: nothing was changed." in page
    assert report_of(client, path)["Created"] == "1"
    assert report_of(client, path)["Skipped (invalid)"] == "1"
    assert statuses(app) == {}
    with app.app_context(), database(app).reading_sessions() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.IMPORT))
        assert audited.all() == []


def test_an_unreadable_file_is_said_in_words_on_the_job_page(app, runner):
    client = signed_in_client(app, runner)
    wrong_header = uploaded(client, b"name,city\nOlena,Kyiv\n")
    not_text = uploaded(client, b"email\n\xff\xfe\x00\x00\xc3\x28 binary\n")
    run_worker(runner)
    assert "email-column" in shown_text(client.get(wrong_header).text)
    page = client.get(not_text)
    assert "The import stopped" in shown_text(page.text)
    assert json.loads(client.get(f"{not_text}.json").text)["state"] == "stopped"
    assert statuses(app) == {}


def test_the_form_refuses_what_it_cannot_run(app, runner):
    client = signed_in_client(app, runner)
    page = client.get(FORM)
    no_file = client.post(
        FORM, data={"csrf_token": page_csrf_token(page.text)}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    assert "Choose a CSV file to import." in shown_text(no_file.text)
    bad_map = upload(client, PLAIN, status_map="subscribed=happy")
    assert bad_map.status_code == 422
    assert "Write pairs such as subscribed=confirmed" in shown_text(bad_map.text)
    no_csrf = client.post(
        FORM, data={"file": (io.BytesIO(b"x"), "a.csv")}, content_type="multipart/form-data"
    )
    assert no_csrf.status_code == 400
    with app.app_context(), database(app).reading_sessions() as session:
        assert session.scalars(select(ImportJob)).all() == []


def test_a_file_over_the_cap_is_413_with_the_reason(app, runner, settings):
    app.config["IMPORT_MAX_UPLOAD_BYTES"] = 10_000
    client = signed_in_client(app, runner)
    response = upload(client, b"email\n" + b"a@example.com\n" * 1000)
    assert response.status_code == 413
    assert "The file is larger than the 10 kB an import may be." in shown_text(response.text)
    assert "NEWSLETTER_IMPORT_MAX_UPLOAD_BYTES" in shown_text(response.text)
    # Refused before the sign-in check: the page tells a stranger nothing more.
    stranger = app.test_client().post(
        FORM,
        data={"file": (io.BytesIO(b"email\n" * 2000), "a.csv")},
        content_type="multipart/form-data",
    )
    assert stranger.status_code == 413
    assert EDITOR not in stranger.text and "list.csv" not in stranger.text
    # Under the cap (but over the 64 KiB of other forms) is taken.
    app.config["IMPORT_MAX_UPLOAD_BYTES"] = 1_000_000
    uploaded(client, b"email\n" + b"a@example.com\n" * 10_000)


def test_only_editors_of_the_newsletter_upload_or_see_its_jobs(app, runner):
    owner = signed_in_client(app, runner, "owner@example.com")
    path = uploaded(owner, PLAIN)
    assert create_editor(runner, "viewer@example.com", role="viewer", newsletters=(SLUG,))
    viewer = app.test_client()
    assert sign_in(viewer, "viewer@example.com").status_code == 303
    assert viewer.get(FORM).status_code == 403
    assert viewer.get(path).status_code == 403
    assert viewer.get(f"{path}.json").status_code == 403
    assert owner.get(f"/admin/newsletters/{SLUG}/imports/999999").status_code == 404


def test_a_job_whose_worker_died_is_taken_over(app, runner, settings):
    """A worker claimed the job and died (its claim runs out at once here): the next worker
    runs the file from the start, and the report is whole."""
    app.config["IMPORT_LEASE_SECONDS"] = 0
    client = signed_in_client(app, runner)
    path = uploaded(client, (DATA / "mailchimp_subscribed.csv").read_bytes())
    with app.app_context(), database(app).transaction() as session:
        assert claim(session, timedelta(0)) is not None  # and the worker died
    assert json.loads(client.get(f"{path}.json").text)["state"] == "running"
    run_worker(runner)
    assert report_of(client, path)["Created"] == "2"
    with app.app_context(), database(app).reading_sessions() as session:
        [job] = session.scalars(select(ImportJob)).all()
    assert job.attempts == 2


def test_a_job_its_workers_keep_dying_on_is_given_up(app, runner):
    """Claimed (and its worker dead) as often as a job may be: the next worker marks it
    stopped instead of running it again, and deletes its file."""
    client = signed_in_client(app, runner)
    path = uploaded(client, PLAIN, email_column="Email")
    for _ in range(MAX_ATTEMPTS):
        with app.app_context(), database(app).transaction() as session:
            assert claim(session, timedelta(0)) is not None
    assert "Ran" not in run_worker(runner)
    progress = json.loads(client.get(f"{path}.json").text)
    assert (progress["state"], progress["ended"]) == ("stopped", True)
    assert "stopped with its worker each time" in shown_text(client.get(path).text)
    assert statuses(app) == {}
    with app.app_context(), database(app).reading_sessions() as session:
        assert session.scalars(select(ImportJobChunk)).all() == []


def test_two_workers_run_each_job_once(app, runner, tmp_path):
    """Two ``newsletter worker --once`` processes at once, three jobs: each job is claimed
    once (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite)."""
    client = signed_in_client(app, runner)
    paths = [
        uploaded(client, f"Email\nreader{number}@example.com\n".encode(), email_column="Email")
        for number in range(3)
    ]
    outputs = run_workers(app, tmp_path / "worker-instance")
    ran = [re.search(r"Ran (\d+) import", output) for output in outputs]
    assert sum(int(match.group(1)) for match in ran if match) == 3
    assert [report_of(client, path)["Created"] for path in paths] == ["1", "1", "1"]
    with app.app_context(), database(app).reading_sessions() as session:
        assert [job.attempts for job in session.scalars(select(ImportJob))] == [1, 1, 1]
