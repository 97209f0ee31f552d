"""A real SMTP server for tests: aiosmtpd on a local port, keeping what it receives."""

import threading
from email import message_from_bytes
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """Receives mail over SMTP and keeps each message, parsed, with its envelope."""

    def __init__(self, port: int, **server_options) -> None:
        """``server_options`` go to aiosmtpd's SMTP: ``tls_context``, ``authenticator``…"""
        self.port = port
        self._server_options = server_options
        self.url = f"smtp://127.0.0.1:{port}"
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        self._raw: dict[str, bytes] = {}
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=True,
            **self._server_options,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._raw.clear()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def raw(self, message: EmailMessage) -> bytes:
        """The message as it came over the wire."""
        with self._lock:
            return self._raw[message["Message-ID"]]

    def raw_header_lines(self, message: EmailMessage) -> list[str]:
        """The message's header lines as they came over the wire, before any decoding."""
        return self.raw(message).split(b"\r\n\r\n", 1)[0].decode().split("\r\n")

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-From"] = envelope.mail_from
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self._messages.append(message)
            self._raw[message["Message-ID"]] = envelope.content
        return "250 Message accepted for delivery"
