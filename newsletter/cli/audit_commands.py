"""``newsletter audit``: read the audit trail, and purge what is past its retention."""

from datetime import UTC
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter import audit
from newsletter.access_models import AuditAction
from newsletter.cli.common import duration
from newsletter.cli.common import editing
from newsletter.cli.common import reading
from newsletter.db.types import utcnow


@click.group("audit")
def audit_group() -> None:
    """The audit trail: sign-ins, exports, erasures, imports, roles, tokens, webhooks."""


def since_when(text: str | None) -> datetime | None:
    """``--since``: an age such as 7d, or a UTC day such as 2026-11-01."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return utcnow() - duration(text, "--since")


@audit_group.command("list")
@click.option("--since", help="An age (7d, 12h, 90m) or a UTC day (2026-11-01).")
@click.option("--actor", help="Only this editor's address, 'token NAME' or 'CLI'.")
@click.option("--action", type=click.Choice([str(action) for action in AuditAction]))
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@with_appcontext
def audit_list(since: str | None, actor: str | None, action: str | None, limit: int) -> None:
    """Entries, newest first, tab-separated: time, who, what, newsletter, IP, detail."""
    with reading() as session:
        for entry in audit.entries(
            session, since=since_when(since), actor=actor, action=action, limit=limit
        ):
            detail = " ".join(f"{key}={value}" for key, value in entry.detail.items())
            click.echo(
                f"{entry.occurred_at:%Y-%m-%d %H:%M:%S}\t{entry.actor}\t{entry.action}\t"
                f"{entry.newsletter or '-'}\t{entry.ip or '-'}\t{detail}"
            )


@audit_group.command("purge")
@with_appcontext
def audit_purge() -> None:
    """Delete entries older than NEWSLETTER_AUDIT_RETENTION_DAYS (run it daily)."""
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    with editing() as session:
        purged = audit.purge(session, days)
    click.echo(f"Purged {purged} audit entr{'y' if purged == 1 else 'ies'} older than {days} days.")
