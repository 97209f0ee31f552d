"""``newsletter import``: a list from another provider (or our export) into a newsletter."""

import os
import sys

import click
from flask.cli import with_appcontext

from newsletter import import_formats
from newsletter import importing
from newsletter import languages
from newsletter.cli.common import AS_EDITOR
from newsletter.cli.common import acting_for
from newsletter.cli.common import newsletter_named
from newsletter.cli.common import reading
from newsletter.cli.common import require
from newsletter.roles import Need


@click.command("import")
@click.option("--newsletter", "slug", required=True, help="The newsletter's slug.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the report; change nothing.")
@click.option("--email-column", help="The address's column, for a CSV of no known export.")
@click.option("--status-column", help="With --email-column: the status's column.")
@click.option(
    "--status-map",
    help="Their statuses to ours, e.g. subscribed=confirmed,cleaned=bounced "
    "(ours: pending, confirmed, unsubscribed, bounced).",
)
@click.option(
    "--language",
    type=click.Choice(languages.LANGUAGES),
    help="The language of the imported subscriptions' mail (default: the file's language "
    "column where it has one, else the newsletter's language).",
)
@AS_EDITOR
@with_appcontext
def import_list(
    slug: str,
    path: str,
    dry_run: bool,
    email_column: str | None,
    status_column: str | None,
    status_map: str | None,
    language: str | None,
    as_editor: str | None,
) -> None:
    """Import PATH, a CSV (Mailchimp, Substack, Ghost, listmonk, or our export), into a
    newsletter. No email is sent; opted-out addresses here stay opted out. The history
    and the audit trail say ``CLI``, or with --as EMAIL that editor (who must edit it)."""
    try:
        statuses = import_formats.parse_status_map(status_map)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--status-map") from None
    with reading() as session:
        actor, access = acting_for(session, as_editor)
        newsletter = newsletter_named(session, slug)
        require(access, Need.EDIT, newsletter)
    options = importing.ImportOptions(
        file_name=os.path.basename(path),
        by=actor,
        email_column=email_column,
        status_column=status_column,
        status_map=statuses,
        dry_run=dry_run,
        language=language,
    )
    # On a terminal only: in a pipe or a cron job, standard error stays quiet.
    with (
        open(path, "rb") as file,
        click.progressbar(
            length=os.path.getsize(path),
            label="Bytes",
            hidden=not sys.stderr.isatty(),
            file=sys.stderr,
        ) as progress,
    ):
        try:
            report = importing.import_file(
                newsletter, file, options, lambda done: progress.update(done - progress.pos)
            )
        except (importing.UnreadableFile, importing.ImportStopped) as error:
            raise click.ClickException(str(error)) from None
    click.echo(render(report, dry_run))


def render(report: importing.Report, dry_run: bool) -> str:
    """The report as the command prints it."""
    lines = [
        f"{'Dry run: nothing was changed. ' if dry_run else ''}Format: {report.format}; "
        f"file SHA-256 {report.sha256}",
        f"created: {report.created}",
        f"updated: {report.updated}",
        f"unchanged: {report.unchanged}",
        f"kept opted-out: {report.kept_opted_out}",
        f"skipped (invalid): {report.skipped}",
    ]
    lines += [f"  line {line}: {reason}" for line, reason in report.skipped_lines]
    if report.skipped > len(report.skipped_lines):
        lines.append(f"  … and {report.skipped - len(report.skipped_lines)} more")
    return "\n".join(lines)
