"""A real HTTP receiver for outgoing webhooks: ``http.server`` in a thread, answering each
POST as its plan says (200, 500, a dropped connection, or holding the request until told),
and keeping what it received."""

import ssl
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

OK = 200
DROP = "drop"  # read the request, close the connection without an answer
HOLD = "hold"  # keep the request open until release() (a receiver that hangs)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers with ``plan``'s items in turn, then 200 to everything."""

    def __init__(self, *plan: int | str, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: serve HTTPS with this context, as ``https://localhost:PORT``."""
        self.plan = deque(plan)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.held = threading.Event()  # set when a request is being held
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    answer = receiver.plan.popleft() if receiver.plan else OK
                    receiver.received.append(Received(dict(self.headers.items()), body))
                if answer == DROP:
                    self.close_connection = True
                    return
                if answer == HOLD:
                    receiver.held.set()
                    receiver.released.wait(60)
                    self.close_connection = True
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                """Quiet: the test reads what was received."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/hooks/newsletter"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://localhost:{port}/hooks/newsletter"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)
