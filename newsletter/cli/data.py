"""``newsletter export``, ``purge-pending`` and ``daily``: the list out, stale signups and
old IP addresses gone."""

import re
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter import csv_export
from newsletter import list_management
from newsletter import newsletters
from newsletter import retention
from newsletter.cli.common import editing
from newsletter.cli.common import newsletter_named
from newsletter.cli.common import reading
from newsletter.db import database
from newsletter.models import SubscriptionStatus

DURATION = re.compile(r"(\d+)([dhm])")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@click.command("export")
@click.option("--newsletter", "slug", help="The newsletter's slug.")
@click.option("--all", "every", is_flag=True, help="Every newsletter, a row per subscription.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in SubscriptionStatus]),
    help="Only subscriptions in this status (default: all).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@with_appcontext
def export(slug: str | None, every: bool, status: str | None, output: str | None) -> None:
    """Write a newsletter's subscribers (or, with --all, every newsletter's) as CSV, the
    same as the admin's download."""
    if bool(slug) == every:
        raise click.UsageError("give either --newsletter SLUG or --all")
    db = database()
    wanted = SubscriptionStatus.parse_filter(status)
    with reading() as session:
        chosen = [newsletter_named(session, slug)] if slug else None
        covered = chosen or newsletters.all_newsletters(session)
        total = sum(
            list_management.counts(session, newsletter)[s.value]
            for newsletter in covered
            for s in _statuses(wanted)
        )
    # On a terminal only: in a pipe or a cron job, standard error stays quiet.
    with click.progressbar(
        length=total, label="Rows", show_pos=True, hidden=not sys.stderr.isatty(), file=sys.stderr
    ) as progress:
        newsletter = chosen[0] if chosen else None
        chunks = csv_export.stream_csv(db.engine, newsletter, wanted, progress.update)
        # Binary, so the CSV's CRLF line ends reach the file as they are, on every system.
        with click.open_file(output or "-", "wb") as file:
            for chunk in chunks:
                file.write(chunk.encode("utf-8"))


@click.command("purge-pending")
@click.option("--older-than", default="30d", show_default=True, help="Age, e.g. 30d, 12h, 90m.")
@with_appcontext
def purge_pending(older_than: str) -> None:
    """Delete signups never confirmed within the given time (data minimisation)."""
    age = _duration(older_than, "--older-than")
    with editing() as session:
        purged = list_management.purge_pending(session, age)
    click.echo(f"Purged {purged} pending signup(s) older than {older_than}.")


@click.command("daily")
@click.option(
    "--pending-older-than",
    default="30d",
    show_default=True,
    help="Purge signups never confirmed after this long, e.g. 30d, 12h, 90m.",
)
@with_appcontext
def daily(pending_older_than: str) -> None:
    """The daily upkeep, for cron: purge-pending, then remove the IP addresses of consent
    evidence older than NEWSLETTER_IP_RETENTION_DAYS (when it is set)."""
    age = _duration(pending_older_than, "--pending-older-than")
    days = current_app.config["IP_RETENTION_DAYS"]
    with editing() as session:
        purged = list_management.purge_pending(session, age)
        cleared = retention.anonymise_ips(session, timedelta(days=days)) if days else None
    # No copy of what went left in SQLite's WAL file.
    database().checkpoint()
    click.echo(f"Purged {purged} pending signup(s) older than {pending_older_than}.")
    if cleared is None:
        click.echo("IP addresses are kept: NEWSLETTER_IP_RETENTION_DAYS is not set.")
    else:
        click.echo(f"Removed the IP address from {cleared} record(s) older than {days} days.")


def _duration(text: str, option: str) -> timedelta:
    """An age such as 30d, 12h or 90m; a usage error naming ``option`` otherwise."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter("use a number and d, h or m, e.g. 30d", param_hint=option)
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def _statuses(wanted: SubscriptionStatus | None) -> list[SubscriptionStatus]:
    """The statuses an export with this filter covers."""
    return [wanted] if wanted else list(SubscriptionStatus)
