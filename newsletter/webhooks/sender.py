"""Delivering webhook events: claimed under a lease, POSTed signed, retried with backoff,
and an endpoint disabled once every attempt failed for the failure window.

Signed per Standard Webhooks with the ``standardwebhooks`` package: ``webhook-id`` (the
delivery's, fixed when queued), ``webhook-timestamp`` (when this attempt was made) and
``webhook-signature``. At least once: a worker that dies mid-request leaves its claim to
another after the lease, which sends the same ``webhook-id`` again.

The connection goes to the address the host name resolved to, once every address it
resolved to was checked (``endpoints.address_allowed``): a name that resolves to a private
address is refused each time, not only when registered. Redirects are not followed.
"""

import http.client
import logging
import socket
import ssl
from dataclasses import KW_ONLY
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from newsletter.db import database
from newsletter.db import leases
from newsletter.db.engine import Database
from newsletter.db.types import utcnow
from newsletter.mail.outbox import backoff
from newsletter.models import OutboxStatus
from newsletter.webhooks import endpoints
from newsletter.webhooks.models import ERROR_LENGTH
from newsletter.webhooks.models import WebhookDelivery
from newsletter.webhooks.models import WebhookEndpoint

log = logging.getLogger(__name__)
Locked = TypeVar("Locked", WebhookEndpoint, WebhookDelivery)

BATCH_SIZE = 50
USER_AGENT = "newsletter-webhooks"
# What is read of an answer: only its status matters.
ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Claimed:
    """A delivery taken by this worker, with where it goes."""

    id: int
    endpoint_id: int
    webhook_id: str
    payload: str
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the HTTP status if there was an answer, and why it failed."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class WebhookSender:
    """Delivers due webhook events; any number may run at once on one database."""

    db: Database
    _: KW_ONLY
    timeout: float
    retry_base_seconds: float
    max_backoff: timedelta
    disable_after: timedelta
    lease: timedelta
    allow_loopback: bool
    batch_size: int = BATCH_SIZE

    @classmethod
    def for_app(cls, app: Flask) -> "WebhookSender":
        config = app.config
        return cls(
            database(app),
            timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
            retry_base_seconds=float(config["WEBHOOK_RETRY_BASE_SECONDS"]),
            max_backoff=timedelta(seconds=float(config["WEBHOOK_MAX_BACKOFF_SECONDS"])),
            disable_after=timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"])),
            lease=timedelta(seconds=float(config["MAIL_LEASE_SECONDS"])),
            allow_loopback=bool(config["WEBHOOK_ALLOW_LOOPBACK"]),
        )

    def deliver_batch(self, now: datetime | None = None, due_by: datetime | None = None) -> int:
        """Claim and send one batch of events due by ``due_by`` (default: now); how many
        were claimed.

        ``now`` (default: the clock) is when this happens, for the leases, the retries and
        the failure window.
        """
        clock = now or utcnow()
        with self.db.transaction() as session:
            batch = self._claim(session, clock, min(due_by or clock, clock))
        outcomes = [
            (claimed, post(claimed, self.timeout, allow_loopback=self.allow_loopback))
            for claimed in batch
        ]
        # The batch's results in one transaction: one commit, not one per event. A worker
        # killed before it leaves its events to the lease (sent again, same webhook-id).
        if outcomes:
            endpoint_ids = {claimed.endpoint_id for claimed in batch}
            with self.db.transaction() as session:
                targets = _locked(session, WebhookEndpoint, endpoint_ids)
                deliveries = _locked(session, WebhookDelivery, {claimed.id for claimed in batch})
                for claimed, outcome in outcomes:
                    delivery = deliveries.get(claimed.id)
                    if delivery is None:  # removed, or its reader erased, meanwhile
                        continue
                    endpoint = targets.get(delivery.endpoint_id)
                    if endpoint is None:  # removed meanwhile (the delivery goes with it)
                        continue
                    self._record(delivery, endpoint, outcome, now or utcnow())
        return len(batch)

    def _claim(self, session, now: datetime, due_by: datetime) -> list[Claimed]:
        """Take a batch of due deliveries to enabled endpoints, with their URL and secret."""
        enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.disabled_at.is_(None))
        rows = leases.claim(
            session,
            WebhookDelivery,
            (
                WebhookDelivery.id,
                WebhookDelivery.endpoint_id,
                WebhookDelivery.webhook_id,
                WebhookDelivery.payload,
            ),
            limit=self.batch_size,
            now=now,
            due_by=due_by,
            lease=self.lease,
            only=(WebhookDelivery.endpoint_id.in_(enabled),),
        )
        targets = {
            endpoint.id: endpoint
            for endpoint in session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.id.in_({row[1] for row in rows}))
            )
        }
        return sorted(
            (
                Claimed(row[0], row[1], row[2], row[3], targets[row[1]].url, targets[row[1]].secret)
                for row in rows
            ),
            key=lambda claimed: claimed.id,
        )

    def _record(
        self,
        delivery: WebhookDelivery,
        endpoint: WebhookEndpoint,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        """Keep the attempt's result on the delivery and its endpoint; disable an endpoint
        that has failed for the whole window."""
        error = outcome.error[:ERROR_LENGTH] if outcome.error else None
        delivery.claimed_until = None
        delivery.last_status = endpoint.last_status = outcome.status
        delivery.last_error = endpoint.last_error = error
        endpoint.last_attempt_at = now
        if outcome.delivered:
            delivery.status = OutboxStatus.SENT
            delivery.sent_at = now
            endpoint.failing_since = None
            return
        delivery.status = OutboxStatus.QUEUED
        delay = backoff(delivery.attempts, self.retry_base_seconds)
        delivery.next_attempt_at = now + min(delay, self.max_backoff)
        endpoint.failing_since = endpoint.failing_since or now
        log.warning("Webhook delivery %s failed: %s", delivery.webhook_id, error)
        if endpoint.disabled_at is None and now - endpoint.failing_since >= self.disable_after:
            endpoint.disabled_at = now
            log.warning(
                "Webhook endpoint %s disabled: every attempt failed since %s",
                endpoint.id,
                endpoint.failing_since.isoformat(),
            )


def _locked(session: Session, model: type[Locked], ids: set[int]) -> dict[int, Locked]:
    """The rows of ``model`` with these ids (those still there), locked in id order: the
    endpoints before the deliveries, so that two workers recording at once never wait on
    each other in a cycle. One query for the batch, not one per event."""
    rows = session.scalars(
        select(model).where(model.id.in_(ids)).order_by(model.id).with_for_update()
    )
    return {row.id: row for row in rows}


def post(claimed: Claimed, timeout: float, *, allow_loopback: bool) -> Outcome:
    """One signed POST of the event; a 2xx answer delivers it."""
    parts = urlsplit(claimed.url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        resolved = [
            str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        ]
    except OSError as error:
        return Outcome(None, f"cannot resolve {host}: {error}")
    for address in resolved:
        if not endpoints.address_allowed(address, allow_loopback=allow_loopback):
            return Outcome(None, f"{host} resolves to {address}, where we send nothing")
    timestamp = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": claimed.webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(claimed.secret).sign(
            claimed.webhook_id, timestamp, claimed.payload
        ),
    }
    connection = _connection(host, resolved[0], port, https, timeout)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        connection.request("POST", path, body=claimed.payload.encode("utf-8"), headers=headers)
        answer = connection.getresponse()
        answer.read(ANSWER_BYTES)
    except (OSError, ValueError, http.client.HTTPException) as error:
        return Outcome(
            None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        )
    finally:
        connection.close()
    if 200 <= answer.status < 300:
        return Outcome(answer.status, None)
    return Outcome(answer.status, f"HTTP {answer.status} {answer.reason}".strip())


def _connection(
    host: str, address: str, port: int, https: bool, timeout: float
) -> http.client.HTTPConnection:
    """A connection to ``address`` that speaks to ``host`` (its Host header, its TLS
    certificate and SNI): the name is not resolved a second time."""
    if https:
        return _PinnedHTTPSConnection(host, address, port, timeout)
    return _PinnedHTTPConnection(host, address, port, timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        plain = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(plain, server_hostname=self.host)
