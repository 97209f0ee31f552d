"""Registering a newsletter's webhook endpoints: the URL checked, a secret made; listing,
removing, enabling again, and each one's delivery log.

A URL must be ``https://`` to a public host. It is requested by our server, so an editor
could otherwise point it at what only our server reaches (a database's HTTP port, a cloud
metadata service at 169.254.169.254): see SECURITY.md. A host name is checked here if it
is an address, and again by the sender each time it resolves it. ``http://`` to this
machine is allowed only with ``NEWSLETTER_WEBHOOK_ALLOW_LOOPBACK`` (tests, a receiver on
the same host).
"""

import base64
import ipaddress
import secrets
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import audit
from newsletter.access_models import AuditAction
from newsletter.db.types import utcnow
from newsletter.models import URL_LENGTH
from newsletter.models import Newsletter
from newsletter.models import OutboxStatus
from newsletter.refusals import Refusal
from newsletter.webhooks.models import WebhookDelivery
from newsletter.webhooks.models import WebhookEndpoint

SECRET_BYTES = 32
LOG_LENGTH = 20
LOOPBACK_NAMES = ("localhost",)


class InvalidWebhookUrl(Refusal, ValueError):
    """A URL we will not send events to; the message says why."""

    reason = "invalid_webhook_url"


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The URL, stripped, if events may go there; else :class:`InvalidWebhookUrl`."""
    url = url.strip()
    if not url or len(url) > URL_LENGTH or not url.isprintable() or " " in url:
        raise InvalidWebhookUrl("Enter a URL such as https://crm.example.com/hooks/newsletter")
    if not url.isascii():
        raise InvalidWebhookUrl(
            "The URL must be ASCII: an international domain in its xn-- form, a path "
            "percent-encoded"
        )
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidWebhookUrl("The URL must start with https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The URL may not hold a user name or password")
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise InvalidWebhookUrl("The URL's port is not a number from 1 to 65535") from None
    loopback = host in LOOPBACK_NAMES or _is_loopback_literal(host)
    if parts.scheme == "http" and not (allow_loopback and loopback):
        raise InvalidWebhookUrl("The URL must start with https://")
    if loopback and not allow_loopback:
        raise InvalidWebhookUrl("The URL must name a public host, not this machine")
    if not loopback and not _public_or_name(host):
        raise InvalidWebhookUrl("The URL must name a public host, not a private address")
    return url


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether the sender may connect to this resolved address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def add(
    session: Session,
    newsletter: Newsletter,
    url: str,
    *,
    allow_loopback: bool,
    actor: str = "CLI",
    ip: str | None = None,
) -> WebhookEndpoint:
    """Register ``url`` for the newsletter's events, with a new secret; on the audit
    trail as ``actor``'s doing."""
    endpoint = WebhookEndpoint(
        newsletter_id=newsletter.id,
        url=check_url(url, allow_loopback=allow_loopback),
        secret=new_secret(),
        created_at=utcnow(),
    )
    endpoint.newsletter = newsletter
    session.add(endpoint)
    session.flush()
    _audit(session, endpoint, AuditAction.WEBHOOK_CREATED, actor, ip, url=endpoint.url)
    return endpoint


def new_secret() -> str:
    """A signing secret in Standard Webhooks' form: ``whsec_`` and base64 of 32 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def of_newsletter(session: Session, newsletter: Newsletter) -> list[WebhookEndpoint]:
    """The newsletter's endpoints, oldest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.newsletter_id == newsletter.id)
    return list(session.scalars(query.order_by(WebhookEndpoint.id)))


def get(session: Session, newsletter: Newsletter, endpoint_id: int) -> WebhookEndpoint | None:
    """One of the newsletter's endpoints; None if it has none by that id."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.newsletter_id != newsletter.id:
        return None
    return endpoint


def remove(
    session: Session, endpoint: WebhookEndpoint, *, actor: str = "CLI", ip: str | None = None
) -> None:
    """Forget the endpoint, its queued events and its log."""
    _audit(session, endpoint, AuditAction.WEBHOOK_DELETED, actor, ip, url=endpoint.url)
    session.delete(endpoint)
    session.flush()


def enable(
    session: Session, endpoint: WebhookEndpoint, *, actor: str = "CLI", ip: str | None = None
) -> None:
    """Deliver to a disabled endpoint again, starting with what it missed."""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    _audit(session, endpoint, AuditAction.WEBHOOK_CHANGED, actor, ip, change="enabled")


def disable(
    session: Session, endpoint: WebhookEndpoint, *, actor: str = "CLI", ip: str | None = None
) -> None:
    """Stop delivering to the endpoint; its events wait for it to be enabled."""
    if endpoint.disabled_at is None:
        endpoint.disabled_at = utcnow()
    _audit(session, endpoint, AuditAction.WEBHOOK_CHANGED, actor, ip, change="disabled")


def _audit(
    session: Session,
    endpoint: WebhookEndpoint,
    action: AuditAction,
    actor: str,
    ip: str | None,
    **detail: str,
) -> None:
    """An editor's (or the command line's) change to an endpoint, on the audit trail."""
    newsletter = session.get(Newsletter, endpoint.newsletter_id)
    slug = newsletter.slug if newsletter else None
    audit.record(session, actor, action, newsletter=slug, ip=ip, endpoint=endpoint.id, **detail)


def waiting(session: Session, endpoint: WebhookEndpoint) -> int:
    """How many events wait to be delivered to the endpoint."""
    query = select(func.count()).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status != OutboxStatus.SENT
    )
    return session.scalar(query) or 0


def log(session: Session, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first: the delivery log."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(LOG_LENGTH)))


def _is_loopback_literal(host: str) -> bool:
    """Whether the host is an address of this machine (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _public_or_name(host: str) -> bool:
    """A name (checked when resolved), or a global address."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return ip.is_global and not ip.is_multicast
