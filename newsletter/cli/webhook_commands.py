"""``newsletter webhooks``: a newsletter's outgoing webhook endpoints."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.cli.common import editing
from newsletter.cli.common import newsletter_named
from newsletter.cli.common import reading
from newsletter.models import Newsletter
from newsletter.webhooks import endpoints
from newsletter.webhooks import events
from newsletter.webhooks.endpoints import InvalidWebhookUrl
from newsletter.webhooks.models import WebhookEndpoint


@click.group("webhooks")
def webhooks_group() -> None:
    """Send a newsletter's subscription events to other systems (signed HTTP POSTs)."""


@webhooks_group.command("add")
@click.option("--newsletter", "slug", required=True, help="The newsletter's slug.")
@click.argument("url")
@with_appcontext
def webhooks_add(slug: str, url: str) -> None:
    """Send the newsletter's events to URL (https://); prints the signing secret once."""
    allow_loopback = current_app.config["WEBHOOK_ALLOW_LOOPBACK"]
    with editing(InvalidWebhookUrl) as session:
        endpoint = endpoints.add(
            session, newsletter_named(session, slug), url, allow_loopback=allow_loopback
        )
        click.echo(f"Endpoint {endpoint.id} for {slug}: {endpoint.url}")
        click.echo(f"Secret (give it to the receiver; shown only now): {endpoint.secret}")


@webhooks_group.command("list")
@click.option("--newsletter", "slug", help="Only this newsletter's (default: all).")
@with_appcontext
def webhooks_list(slug: str | None) -> None:
    """Print each endpoint: id, newsletter, URL, state, last attempt, its HTTP status and
    error, events waiting; tab-separated."""
    with reading() as session:
        query = select(WebhookEndpoint, Newsletter.slug).join(Newsletter)
        if slug:
            query = query.where(Newsletter.id == newsletter_named(session, slug).id)
        for endpoint, newsletter_slug in session.execute(query.order_by(WebhookEndpoint.id)):
            last = endpoint.last_attempt_at
            fields = (
                endpoint.id,
                newsletter_slug,
                endpoint.url,
                "disabled" if endpoint.disabled_at else "enabled",
                last.isoformat(timespec="seconds") if last else "-",
                endpoint.last_status or "-",
                endpoint.last_error or "-",
                endpoints.waiting(session, endpoint),
            )
            click.echo("\t".join(str(field) for field in fields))


@webhooks_group.command("remove")
@click.argument("endpoint_id", type=int)
@with_appcontext
def webhooks_remove(endpoint_id: int) -> None:
    """Forget an endpoint, with its waiting events and its log."""
    with editing() as session:
        endpoints.remove(session, _endpoint(session, endpoint_id))
        click.echo(f"Removed endpoint {endpoint_id}.")


@webhooks_group.command("test")
@click.argument("endpoint_id", type=int)
@with_appcontext
def webhooks_test(endpoint_id: int) -> None:
    """Queue a webhook.test event to an endpoint; the worker delivers it."""
    with editing() as session:
        events.queue_test(session, _endpoint(session, endpoint_id))
        click.echo(
            f"Queued a test event to endpoint {endpoint_id}; `webhooks list` shows how it went."
        )


@webhooks_group.command("enable")
@click.argument("endpoint_id", type=int)
@with_appcontext
def webhooks_enable(endpoint_id: int) -> None:
    """Deliver to a disabled endpoint again, starting with the events it missed."""
    with editing() as session:
        endpoints.enable(session, _endpoint(session, endpoint_id))
        click.echo(f"Enabled endpoint {endpoint_id}.")


@webhooks_group.command("disable")
@click.argument("endpoint_id", type=int)
@with_appcontext
def webhooks_disable(endpoint_id: int) -> None:
    """Stop delivering to an endpoint; its events wait until it is enabled."""
    with editing() as session:
        endpoints.disable(session, _endpoint(session, endpoint_id))
        click.echo(f"Disabled endpoint {endpoint_id}.")


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint with this id, or the command fails saying there is none."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise click.ClickException(f"no webhook endpoint {endpoint_id}")
    return endpoint
