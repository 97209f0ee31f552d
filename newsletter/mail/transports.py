"""Transports, chosen by ``NEWSLETTER_MAIL_URL``: SMTP (plain, STARTTLS, SMTPS) or .eml files.

``smtp://user:password@host:587`` — STARTTLS (the default on port 587, else
``?starttls=true``), then AUTH if a user is given; ``smtps://user:password@host:465`` —
TLS from the first byte; ``?cafile=/path/ca.pem`` trusts that CA instead of the system's;
unset — each message is written to ``instance/mail/`` and its links are logged, for a
laptop without a mail server. A password is never sent over an unencrypted connection,
except to this machine (loopback): such a URL is refused when the app starts.
"""

import ipaddress
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from email import message_from_string
from email import policy
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app

from newsletter.addresses import for_transport
from newsletter.addresses import mask
from newsletter.config import ConfigurationError
from newsletter.mail.outbox import Envelope

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
SUBMISSION_PORT = 587
TRUE = ("true", "1", "yes")
USE_TLS = "use smtps://, or smtp:// with ?starttls=true (the default on port 587)"
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

    def connection(self) -> AbstractContextManager[Send]:
        """A connection for one batch: ``with transport.connection() as send: send(...)``."""

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
        """Read the URL; refuse what would be unsafe or cannot work, at once."""
        parts = urlsplit(url)
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        starttls = options.get("starttls", "true" if self.port == SUBMISSION_PORT else "")
        self.starttls = not self.implicit_tls and starttls.lower() in TRUE
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.timeout = float(options.get("timeout", SMTP_TIMEOUT_SECONDS))
        self.cafile = options.get("cafile")
        self._tls: ssl.SSLContext | None = None
        self._kept: smtplib.SMTP | None = None
        self._check()

    def _check(self) -> None:
        """Refuse a password in clear text to another machine, and a CA file that isn't."""
        where = f"{self.host}:{self.port}"
        encrypted = self.implicit_tls or self.starttls
        if self.username and not encrypted and not _is_loopback(self.host):
            raise ConfigurationError(
                f"NEWSLETTER_MAIL_URL would send the SMTP password unencrypted to {where}: "
                + USE_TLS
            )
        if self.cafile is None:
            return
        if not encrypted:
            raise ConfigurationError(
                f"NEWSLETTER_MAIL_URL has ?cafile= but no TLS to {where}: " + USE_TLS
            )
        try:
            self._tls_context()
        except (OSError, ssl.SSLError) as error:
            raise ConfigurationError(
                f"NEWSLETTER_MAIL_URL: cannot load the CA certificates in {self.cafile}: {error}"
            ) from error

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
        """A new connection, or :class:`DeliveryError` saying what failed (never the password)."""
        try:
            return self._connect()
        except (OSError, smtplib.SMTPException) as error:
            where = f"{self.host}:{self.port}"
            raise DeliveryError(f"{_connection_failure(error, where)}: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        """Connect, secure the channel as configured, and log in when a user is given."""
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                client.starttls(context=self._tls_context())
            if self.username:
                client.login(self.username, self.password)
        except BaseException:
            client.close()  # a refused certificate or password must not leak the socket
            raise
        return client

    def _tls_context(self) -> ssl.SSLContext:
        """The TLS settings, made once, and only for a connection that uses TLS.

        Loading the system's CA certificates takes tens of milliseconds, which every batch
        used to pay, even on a plain connection that needs none.
        """
        if self._tls is None:
            # With a cafile, that CA alone is trusted; else the system's (or SSL_CERT_FILE).
            self._tls = ssl.create_default_context(cafile=self.cafile)
        return self._tls


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _connection_failure(error: Exception, where: str) -> str:
    """What went wrong while connecting, in an operator's words (most specific first)."""
    failures = [
        (ssl.SSLCertVerificationError, f"TLS certificate verification failed for {where}"),
        (ssl.SSLError, f"TLS handshake with {where} failed"),
        (smtplib.SMTPAuthenticationError, f"authentication refused by {where}"),
        (smtplib.SMTPNotSupportedError, f"{where} does not offer what the URL asks"),
        (ConnectionRefusedError, f"connection refused by {where}"),
        (TimeoutError, f"timed out connecting to {where}"),
        (socket.gaierror, f"cannot resolve the host of {where}"),
        (smtplib.SMTPServerDisconnected, f"{where} closed the connection"),
        (smtplib.SMTPException, f"{where} refused the session"),
    ]
    for kind, description in failures:
        if isinstance(error, kind):
            return description
    return f"cannot reach {where}"


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
        log.info(
            "Mail (%s to %s) written to %s; its links: %s",
            envelope.kind,
            mask(envelope.recipient),
            path,
            " ".join(links) or "none",
        )


def init_app(app: Flask) -> None:
    """Read ``MAIL_URL`` once, at start: an unsafe or unusable one is refused now, not at
    the first delivery. The app keeps this transport for its own requests (an erasure's
    :meth:`~Transport.forget`); each worker opens its own, which holds a connection."""
    app.extensions["mail_transport"] = from_url(app.config["MAIL_URL"], app.instance_path)


def app_transport() -> Transport:
    """The current app's transport, read from its ``MAIL_URL`` at start."""
    return current_app.extensions["mail_transport"]


def from_url(url: str | None, instance_path: str) -> Transport:
    """The transport ``NEWSLETTER_MAIL_URL`` names (files under the instance folder if unset)."""
    if not url:
        return FileTransport(Path(instance_path) / "mail")
    scheme = urlsplit(url).scheme
    if scheme in ("smtp", "smtps"):
        return SmtpTransport(url)
    raise ConfigurationError(
        f"NEWSLETTER_MAIL_URL must start with smtp:// or smtps://, not {scheme}://"
    )
