"""``newsletter bounces ingest FILE…``: reports saved from a bounce mailbox, applied."""

from collections import Counter

import click
from flask.cli import with_appcontext

from newsletter import bounce_reports
from newsletter import bounces
from newsletter.cli.common import editing
from newsletter.subscriptions import Evidence

# The history's evidence of a report read from a file: no client, the command's name.
EVIDENCE = Evidence(source="bounces", user_agent="newsletter bounces ingest")


@click.group("bounces")
def bounces_group() -> None:
    """Bounces and complaints from the mail system."""


@bounces_group.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def ingest(paths: tuple[str, ...]) -> None:
    """Apply each FILE, an RFC 3464 delivery status notification or an RFC 5965 (ARF)
    complaint saved from the bounce mailbox (one message per file, as .eml). A file
    ingested again changes nothing. Exits with 1 if any file is no such report."""
    totals: Counter[str] = Counter()
    unreadable = 0
    for path in paths:
        with open(path, "rb") as file:
            raw = file.read()
        try:
            reports = bounce_reports.parse(raw)
        except bounce_reports.UnreadableReport as error:
            unreadable += 1
            click.echo(f"{path}: not a bounce or complaint report ({error})", err=True)
            continue
        # One transaction per file: a file that fails half-way leaves the others applied.
        with editing() as session:
            outcomes = [bounces.record(session, report, EVIDENCE) for report in reports]
        described = ", ".join(
            f"{report.kind.value} {outcome.value}"
            for report, outcome in zip(reports, outcomes, strict=True)
        )
        click.echo(f"{path}: {described or 'no bounce (a delay or a delivery)'}")
        totals.update(outcome.value for outcome in outcomes)
    summary = ", ".join(f"{name}: {totals[name]}" for name in sorted(totals)) or "nothing"
    click.echo(f"{len(paths)} file(s); {summary}; unreadable: {unreadable}")
    if unreadable:
        raise SystemExit(1)
