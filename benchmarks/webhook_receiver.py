"""The soak's webhook receiver: it fails on a schedule, and the soak then checks that every
event reached it at least once, signed, none lost.

By the count of requests it has had: every fifth answers 500, every seventh has its
connection dropped without an answer, the rest 200. Each request's signature is checked
with the ``standardwebhooks`` package, as a receiver would.
"""

import re
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from benchmarks.servers import BIN
from benchmarks.servers import ROOT
from newsletter.models import OutboxStatus
from newsletter.models import SubscriptionEvent
from newsletter.webhooks.events import EVENT_TYPES
from newsletter.webhooks.models import WebhookDelivery

FAIL_EVERY = 5
DROP_EVERY = 7
SECRET = re.compile(r"(whsec_\S+)")
# Settings of the workers: retries soon and often, so that the drain sees them through.
SETTINGS = {
    "NEWSLETTER_WEBHOOK_ALLOW_LOOPBACK": "true",
    "NEWSLETTER_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "NEWSLETTER_WEBHOOK_MAX_BACKOFF_SECONDS": "1",
}


@dataclass
class Record:
    """What the receiver saw, shared by its threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    accepted: Counter[str] = field(default_factory=Counter)  # webhook-id → 2xx answers
    refused: int = 0
    dropped: int = 0
    unverified: int = 0


class FailingReceiver:
    """An HTTP server on a free local port; ``secret`` set once the endpoint is registered."""

    def __init__(self) -> None:
        self.record = Record()
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = receiver.record
                with record.lock:
                    record.requests += 1
                    number = record.requests
                if number % DROP_EVERY == 0:
                    with record.lock:
                        record.dropped += 1
                    self.close_connection = True
                    return
                if number % FAIL_EVERY == 0:
                    with record.lock:
                        record.refused += 1
                    self._answer(500)
                    return
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except WebhookVerificationError:
                    with record.lock:
                        record.unverified += 1
                    self._answer(401)
                    return
                with record.lock:
                    record.accepted[self.headers["webhook-id"]] += 1
                self._answer(204)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                """Quiet: the record says what happened."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/soak-hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def register(self, environment: dict[str, str], slug: str) -> None:
        """``newsletter webhooks add`` for the newsletter; keeps the secret it prints."""
        result = subprocess.run(
            [str(BIN / "newsletter"), "webhooks", "add", "--newsletter", slug, self.url],
            env=environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        self.secret = SECRET.search(result.stdout).group(1)

    def __enter__(self) -> "FailingReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def waiting(engine: Engine) -> int:
    """Webhook events not delivered yet."""
    with engine.connect() as connection:
        query = select(func.count()).where(WebhookDelivery.status != OutboxStatus.SENT)
        return connection.scalar(query) or 0


def check(engine: Engine, record: Record) -> tuple[bool, str, bool, dict[str, object]]:
    """Whether every status change was queued as an event and every event reached the
    receiver, signed; the detail, whether failures happened, and the figures."""
    with engine.connect() as connection:
        changes = connection.scalar(
            select(func.count()).where(SubscriptionEvent.kind.in_(list(EVENT_TYPES)))
        )
        delivered = dict(
            connection.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.status)).all()
        )
    lost = [webhook_id for webhook_id in delivered if not record.accepted[webhook_id]]
    unsent = [webhook_id for webhook_id, status in delivered.items() if status != "sent"]
    passed = changes == len(delivered) and not lost and not unsent and not record.unverified
    detail = (
        f"{changes} status changes, {len(delivered)} events queued, {len(lost)} never "
        f"accepted by the receiver, {len(unsent)} not marked sent, "
        f"{record.unverified} with a bad signature"
    )
    figures = {
        "webhook requests": record.requests,
        "webhook answers 500 / dropped": f"{record.refused} / {record.dropped}",
        "webhook events accepted more than once": sum(
            1 for count in record.accepted.values() if count > 1
        ),
    }
    return passed, detail, bool(record.refused and record.dropped), figures
