"""An SMTP server that accepts every message and keeps none: the far end of mail delivery.

``python -m benchmarks.smtp_sink PORT`` runs aiosmtpd on 127.0.0.1:PORT until SIGTERM.
Both the product's worker and the bare ``smtplib`` baseline send to it, so its own cost
weighs on both sides of the ratio alike.
"""

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    """Accepts and counts."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.received += 1
        return "250 OK"


def main() -> None:
    """Serve until SIGTERM or SIGINT, then say how many messages arrived."""
    port = int(sys.argv[1])
    sink = Sink()
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
