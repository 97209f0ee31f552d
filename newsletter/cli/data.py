"""``newsletter export``, ``purge-pending`` and ``daily``: the list out, stale signups and
old IP addresses gone."""

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter import audit
from newsletter import csv_export
from newsletter import exports
from newsletter import list_management
from newsletter import retention
from newsletter.cli.common import AS_EDITOR
from newsletter.cli.common import acting_for
from newsletter.cli.common import duration
from newsletter.cli.common import editing
from newsletter.cli.common import newsletter_named
from newsletter.cli.common import require
from newsletter.db import database
from newsletter.models import SubscriptionStatus
from newsletter.roles import Need


@click.command("export")
@click.option("--newsletter", "slug", help="The newsletter's slug.")
@click.option("--all", "every", is_flag=True, help="Every newsletter, a row per subscription.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in SubscriptionStatus]),
    help="Only subscriptions in this status (default: all).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@AS_EDITOR
@with_appcontext
def export(
    slug: str | None, every: bool, status: str | None, output: str | None, as_editor: str | None
) -> None:
    """Write a newsletter's subscribers (or, with --all, every newsletter's) as CSV, the
    same as the admin's download (--as EMAIL: what that editor's download would hold)."""
    if bool(slug) == every:
        raise click.UsageError("give either --newsletter SLUG or --all")
    db = database()
    wanted = SubscriptionStatus.parse_filter(status)
    with editing() as session:
        actor, access = acting_for(session, as_editor)
        chosen = newsletter_named(session, slug) if slug else None
        require(access, Need.EDIT if chosen else Need.EDIT_SOME, chosen)
        planned = exports.record(session, actor, access, chosen, wanted)
    # On a terminal only: in a pipe or a cron job, standard error stays quiet.
    with click.progressbar(
        length=planned.rows,
        label="Rows",
        show_pos=True,
        hidden=not sys.stderr.isatty(),
        file=sys.stderr,
    ) as progress:
        chunks = csv_export.stream_csv(
            db.engine, planned.newsletter, wanted, progress.update, planned.only
        )
        # Binary, so the CSV's CRLF line ends reach the file as they are, on every system.
        with click.open_file(output or "-", "wb") as file:
            for chunk in chunks:
                file.write(chunk.encode("utf-8"))


@click.command("purge-pending")
@click.option("--older-than", default="30d", show_default=True, help="Age, e.g. 30d, 12h, 90m.")
@with_appcontext
def purge_pending(older_than: str) -> None:
    """Delete signups never confirmed within the given time (data minimisation)."""
    age = duration(older_than, "--older-than")
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
    """The daily upkeep, for cron: purge-pending, remove the IP addresses of consent
    evidence older than NEWSLETTER_IP_RETENTION_DAYS (when it is set), and purge audit
    entries older than NEWSLETTER_AUDIT_RETENTION_DAYS."""
    age = duration(pending_older_than, "--pending-older-than")
    days = current_app.config["IP_RETENTION_DAYS"]
    audit_days = current_app.config["AUDIT_RETENTION_DAYS"]
    with editing() as session:
        purged = list_management.purge_pending(session, age)
        cleared = retention.anonymise_ips(session, timedelta(days=days)) if days else None
        audit_purged = audit.purge(session, audit_days)
    # No copy of what went left in SQLite's WAL file.
    database().checkpoint()
    click.echo(f"Purged {purged} pending signup(s) older than {pending_older_than}.")
    if cleared is None:
        click.echo("IP addresses are kept: NEWSLETTER_IP_RETENTION_DAYS is not set.")
    else:
        click.echo(f"Removed the IP address from {cleared} record(s) older than {days} days.")
    click.echo(f"Purged {audit_purged} audit entries older than {audit_days} days.")
