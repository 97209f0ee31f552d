"""An SMTP server that accepts every message: the far end of mail delivery.

``python -m benchmarks.smtp_sink PORT [RECORD [DELAY]]`` runs aiosmtpd on 127.0.0.1:PORT
until SIGTERM. Both the product's worker and the bare ``smtplib`` baseline send to it, so its own
cost weighs on both sides of the ratio alike. With ``RECORD`` (the soak), each message's
``Message-ID``, recipient and confirmation link are appended to that file as a JSON line,
written and flushed before the sink answers 250: what was acknowledged is on record.
With ``DELAY`` (seconds) each message takes that long to accept, as a real mail server's
do: the soak's workers then have batches in flight when one is killed.
"""

import asyncio
import json
import re
import signal
import sys
import threading
from email import message_from_bytes
from email import policy
from pathlib import Path
from typing import TextIO

from aiosmtpd.controller import Controller

CONFIRM_LINK = re.compile(r"https?://[^\s<>\"]+(/confirm/[^\s<>\"]+)")


class Sink:
    """Accepts and counts; records each message when given a file."""

    def __init__(self, record: TextIO | None = None, delay: float = 0.0) -> None:
        self.received = 0
        self.record = record
        self.delay = delay

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received += 1
        if self.record is not None:
            self.record.write(json.dumps(describe(envelope.content)) + "\n")
            self.record.flush()
        return "250 OK"


def describe(content: bytes) -> dict[str, str | None]:
    """A message's Message-ID, recipient and confirmation path (None if it has none)."""
    message = message_from_bytes(content, policy=policy.default)
    body = message.get_body(("plain",))
    link = CONFIRM_LINK.search(body.get_content()) if body is not None else None
    return {
        "message_id": str(message["Message-ID"]),
        "to": str(message["To"]),
        "confirm": link.group(1) if link else None,
    }


def main() -> None:
    """Serve on PORT, recording to RECORD if given, taking DELAY seconds per message."""
    port = int(sys.argv[1])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    if len(sys.argv) > 2:
        with Path(sys.argv[2]).open("a", encoding="utf-8") as record:
            serve(port, record, delay)
    else:
        serve(port, None, delay)


def serve(port: int, record: TextIO | None, delay: float = 0.0) -> None:
    """Serve until SIGTERM or SIGINT, then say how many messages arrived."""
    sink = Sink(record, delay)
    controller = Controller(sink, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    print(f"SMTP sink received {sink.received} message(s)", flush=True)


if __name__ == "__main__":
    main()
