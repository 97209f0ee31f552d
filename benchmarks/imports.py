"""Import of a large list with the CLI, against the database's own CSV load.

The file is a Mailchimp audience export (its "subscribed" file, the header of
``tests/data/import/mailchimp_subscribed.csv``) of the scale's number of readers, every
one new to the database, so that each row creates a reader, a subscription and its
history event. The baseline loads the same file into a bare table of text columns with
the database's own tool (``sqlite3 .import``, ``psql \\copy``). Both start from a fresh
database each repeat. Seconds are wall-clock time to the process's exit; peak memory is
the ``VmHWM`` of the ``newsletter import`` process.

A third figure says how much of the distance to that baseline is the schema's: the
floor, the database making the same rows itself, with no Python in the way. It loads the
file as the baseline does into the product's (migrated) database, then fills the reader,
subscription and history tables from it with one ``INSERT … SELECT`` each: their keys,
indexes and foreign keys, none of the checks an import makes (addresses, statuses,
times, what is already there).
"""

import csv
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from benchmarks import progress
from benchmarks.backends import bare_table
from benchmarks.instance import Instance
from benchmarks.scale import Scale
from benchmarks.servers import BIN
from benchmarks.servers import ROOT
from benchmarks.servers import run_watched
from benchmarks.stats import Row
from benchmarks.stats import Target
from benchmarks.stats import seconds_against
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent

SLUG = "bench-import"
TIME_RATIO = Target(3, at_least=False, on_ratio=True)
PEAK_RSS = Target(150, at_least=False)
# Mailchimp's own header row, as the tests' fixture has it (its source: SOURCES.md there).
MAILCHIMP = ROOT / "tests" / "data" / "import" / "mailchimp_subscribed.csv"
HEADER = MAILCHIMP.read_text(encoding="utf-8").splitlines()[0].split(",")
FIRST_SIGNUP = datetime(2019, 1, 1, tzinfo=UTC)


def measure(backend, scale: Scale, folder: Path) -> tuple[list[Row], list[str]]:
    """Time the baseline and the CLI, interleaved, ``scale.import_repeats`` times."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mailchimp-subscribed.csv"
    _write_file(path, scale.existing_rows)
    figures: dict[str, list[float]] = {"base": [], "cli": [], "cli_rss": [], "floor": []}
    for repeat in range(scale.import_repeats):
        figures["base"].append(_baseline(backend, path, f"import_bare_{repeat}"))
        instance = Instance(folder / f"import-{repeat}", backend.new_database(f"import_{repeat}"))
        instance.prepare(SLUG)
        command = [str(BIN / "newsletter"), "import", "--newsletter", SLUG, str(path)]
        seconds, peak = run_watched(command, instance.environment(), quiet=True)
        _check_rows(instance, scale.existing_rows)
        instance.dispose()
        figures["cli"].append(seconds)
        figures["cli_rss"].append(peak)
        floor = _floor(backend, folder, path, f"import_floor_{repeat}", scale.existing_rows)
        figures["floor"].append(floor)
        progress.say(
            f"import {repeat + 1}: {backend.import_baseline_name} {figures['base'][-1]:.1f} s, "
            f"CLI {seconds:.1f} s, {peak:.0f} MB, floor {floor:.1f} s"
        )
    size = path.stat().st_size
    path.unlink()
    label = f"{scale.existing_rows:,} rows"
    base = figures["base"]
    rows = [
        Row(f"Import baseline: {backend.import_baseline_name}, {label}", "s", base),
        seconds_against(
            f"Import: `newsletter import` of a Mailchimp export, {label}",
            figures["cli"],
            base,
            backend.import_baseline_name,
            TIME_RATIO,
        ),
        Row("Import: `newsletter import` peak RSS", "MB", figures["cli_rss"], target=PEAK_RSS),
        seconds_against(
            f"Import floor: the same rows made by the database itself, {label}",
            figures["floor"],
            base,
            backend.import_baseline_name,
        ),
        seconds_against(
            "Import: `newsletter import` against the floor",
            figures["cli"],
            figures["floor"],
            "the floor",
        ),
    ]
    notes = [
        f"Import: a {size / 2**20:.0f} MiB Mailchimp file of new readers, measured "
        f"{scale.import_repeats} time(s), into a fresh database each time (a reader, a "
        "subscription and a history event per row); the baseline loads it into a bare "
        "table of text columns, no key, no index."
    ]
    return rows, notes


def _write_file(path: Path, count: int) -> None:
    """A Mailchimp "subscribed" export of ``count`` readers who confirmed years ago."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for number in range(count):
            signed_up = FIRST_SIGNUP + timedelta(seconds=number * 60)
            confirmed = signed_up + timedelta(minutes=3)
            ip = f"198.51.100.{number % 250 + 1}"
            cells = dict.fromkeys(HEADER, "")
            cells |= {
                "Email Address": f"import-{number}@example.net",
                "First Name": "Olena",
                "MEMBER_RATING": "2",
                "OPTIN_TIME": f"{signed_up:%Y-%m-%d %H:%M:%S}",
                "OPTIN_IP": ip,
                "CONFIRM_TIME": f"{confirmed:%Y-%m-%d %H:%M:%S}",
                "CONFIRM_IP": ip,
                "LAST_CHANGED": f"{confirmed:%Y-%m-%d %H:%M:%S}",
                "LEID": str(number),
            }
            writer.writerow(cells.values())


def _baseline(backend, path: Path, label: str) -> float:
    """Seconds the database's own tool takes to load the file into a bare table."""
    return _load_bare(backend, backend.new_database(label), path)


def _load_bare(backend, url: str, path: Path) -> float:
    """Make the bare table in the database at ``url`` and load the file into it with the
    database's own tool; the seconds the load took."""
    backend.run_sql(url, bare_table(HEADER))
    seconds, _peak = run_watched(backend.import_baseline(url, path), {}, quiet=True)
    return seconds


def _floor(backend, folder: Path, path: Path, label: str, count: int) -> float:
    """Seconds the database takes to load the file (as the baseline does) and make the
    import's ``count`` rows from it in the product's own tables."""
    instance = Instance(folder / label, backend.new_database(label))
    instance.prepare(SLUG)
    loaded = _load_bare(backend, instance.database_url, path)
    floor_sql = backend.sql_command(instance.database_url, _floor_sql(backend))
    made, _peak = run_watched(floor_sql, {}, quiet=True)
    _check_rows(instance, count)
    instance.dispose()
    return loaded + made


def _floor_sql(backend) -> str:
    """A reader, a subscription and its history event per row of ``bare``, in one
    transaction, as the import makes them (its columns, its constant values)."""
    opted_in = backend.time_cell.format('"OPTIN_TIME"')
    confirmed = backend.time_cell.format('"CONFIRM_TIME"')
    newsletter = f"(SELECT id FROM newsletter WHERE slug = '{SLUG}')"
    return f"""
    BEGIN;
    INSERT INTO reader (public_id, email, email_key, created_at)
    SELECT {backend.random_id}, "Email Address", lower("Email Address"), {opted_in} FROM bare;
    INSERT INTO subscription (public_id, newsletter_id, reader_id, status, created_at,
        signup_at, signup_ip, source, language, confirmed_at, confirmed_ip,
        confirmation_round, soft_bounces)
    SELECT {backend.random_id}, {newsletter}, reader.id, 'confirmed', {opted_in}, {opted_in},
        "OPTIN_IP", 'import', 'en', {confirmed}, "CONFIRM_IP", 1, 0
    FROM bare JOIN reader ON reader.email_key = lower(bare."Email Address");
    INSERT INTO subscription_event (subscription_id, kind, occurred_at, detail)
    SELECT id, 'imported', created_at, 'floor' FROM subscription;
    COMMIT;
    """


def _check_rows(instance: Instance, count: int) -> None:
    """Every row made its subscription and its history event."""
    with instance.engine.connect() as connection:
        subscriptions = connection.scalar(select(func.count()).select_from(Subscription))
        events = connection.scalar(select(func.count()).select_from(SubscriptionEvent))
    if subscriptions != count or events != count:
        raise RuntimeError(f"imported {subscriptions} subscriptions, {events} events of {count}")
