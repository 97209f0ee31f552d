"""Transports, chosen by ``NEWSLETTER_MAIL_URL``: SMTP (plain, STARTTLS, SMTPS) or .eml files.

``smtp://user:password@host:587?starttls=true`` — STARTTLS, then AUTH if a user is given;
``smtps://user:password@host:465`` — TLS from the first byte; unset — each message is
written to ``instance/mail/`` and its links are logged, for a laptop without a mail server.
"""

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_string
from email import policy
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from newsletter.addresses import for_transport
from newsletter.mail.outbox import Envelope

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
LINK = re.compile(r"https?://[^\s<>\"]+")
NOOP_OK = 250

Send = Callable[[Envelope], None]


class DeliveryError(Exception):
    """A message was not delivered; ``permanent`` when retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Transport(Protocol):
    """Opens a connection for a batch of messages and yields a function that sends one."""

    def connection(self) -> Iterator[Send]: ...

    def close(self) -> None:
        """Let go of a connection kept open between batches, if any."""

    def forget(self, address: str) -> None:
        """Delete the copies this transport kept of mail to ``address`` (an erasure)."""


class SmtpTransport:
    """Delivery to an SMTP server; a connection is kept from one batch to the next.

    Connecting (TCP, greeting, EHLO, perhaps TLS and AUTH) and QUIT cost as much as
    sending several messages. A connection that served a batch is used for the next one
    if the server still answers NOOP; an error that escapes a batch drops it, and
    :meth:`close` ends it (the worker calls it when the queue is empty).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls") in ("true", "1", "yes")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.timeout = float(options.get("timeout", SMTP_TIMEOUT_SECONDS))
        self._tls: ssl.SSLContext | None = None
        self._kept: smtplib.SMTP | None = None

    @contextmanager
    def connection(self) -> Iterator[Send]:
        client = self._reusable() or self._open()
        try:
            yield lambda envelope: _send_smtp(client, envelope)
        except BaseException:
            _quit(client)
            raise
        self._kept = client

    def close(self) -> None:
        """QUIT the connection kept from the last batch, if there is one."""
        client, self._kept = self._kept, None
        if client is not None:
            _quit(client)

    def forget(self, address: str) -> None:
        """Nothing is kept: what was sent is the mail servers' (and the reader's)."""

    def _reusable(self) -> smtplib.SMTP | None:
        """The kept connection if the server still answers on it (it may have timed out)."""
        client, self._kept = self._kept, None
        if client is None:
            return None
        try:
            if client.noop()[0] == NOOP_OK:
                return client
        except (OSError, smtplib.SMTPException):
            pass
        client.close()
        return None

    def _open(self) -> smtplib.SMTP:
        """A new connection, or :class:`DeliveryError` if the server cannot be reached."""
        try:
            return self._connect()
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"cannot reach {self.host}:{self.port}: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        """Connect, secure the channel as configured, and log in when a user is given."""
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                client.starttls(context=self._tls_context())
        if self.username:
            client.login(self.username, self.password)
        return client

    def _tls_context(self) -> ssl.SSLContext:
        """The TLS settings, made once, and only for a connection that uses TLS.

        Loading the system's CA certificates takes tens of milliseconds, which every batch
        used to pay, even on a plain connection that needs none.
        """
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _quit(client: smtplib.SMTP) -> None:
    """End a connection politely, or just close it if the server is gone."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _send_smtp(client: smtplib.SMTP, envelope: Envelope) -> None:
    """Send one message; 5xx answers about the recipient or the data are permanent."""
    ascii_only = envelope.sender.isascii() and envelope.recipient.isascii()
    options = [] if ascii_only else ["SMTPUTF8"]
    try:
        client.sendmail(
            envelope.sender, [envelope.recipient], envelope.raw.encode("utf-8"), options
        )
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise DeliveryError(str(error.recipients), permanent=min(codes) >= 500) from error
    except smtplib.SMTPDataError as error:
        raise DeliveryError(str(error), permanent=error.smtp_code >= 500) from error
    except (OSError, smtplib.SMTPException) as error:
        # Connection trouble, a refused sender, bad credentials: the operator's to fix.
        raise DeliveryError(str(error)) from error


class FileTransport:
    """Writes each message to ``<folder>/<id>.eml`` and logs its links for the developer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def connection(self) -> Iterator[Send]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        yield self._write

    def close(self) -> None:
        """Nothing is kept open between batches."""

    def forget(self, address: str) -> None:
        """Delete every message file that names ``address``, in any case, in either form."""
        needles = {form.lower().encode("utf-8") for form in (address, for_transport(address))}
        for path in self.folder.glob("*.eml"):
            content = path.read_bytes().lower()
            if any(needle in content for needle in needles):
                path.unlink(missing_ok=True)

    def _write(self, envelope: Envelope) -> None:
        """Write one message to its file and log its links."""
        path = self.folder / f"{envelope.id:08d}.eml"
        path.write_text(envelope.raw, encoding="utf-8", newline="")
        body = message_from_string(envelope.raw, policy=policy.default).get_body(("plain",))
        links = LINK.findall(body.get_content()) if body is not None else []
        log.info("Mail written to %s; its links: %s", path, " ".join(links) or "none")


def from_url(url: str | None, instance_path: str) -> Transport:
    """The transport ``NEWSLETTER_MAIL_URL`` names (files under the instance folder if unset)."""
    if not url:
        return FileTransport(Path(instance_path) / "mail")
    scheme = urlsplit(url).scheme
    if scheme in ("smtp", "smtps"):
        return SmtpTransport(url)
    raise ValueError(f"NEWSLETTER_MAIL_URL must start with smtp:// or smtps://, not {scheme}://")
