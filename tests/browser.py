"""What the browser tests stand on: a real server, a third-party site, Chromium and axe-core.

- :class:`Service` runs ``newsletter serve`` in a subprocess on an instance folder
  prepared with the CLI, as an operator would.
- :class:`Site` serves an "article page" from another origin, as a publisher would.
- :func:`launch` starts Debian's Chromium through Playwright with third-party cookies
  blocked (by the command-line switch and by the profile's preference).
- :func:`serious_violations` runs axe-core in a page or frame.
"""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEWSLETTER = Path(sys.executable).with_name("newsletter")
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--test-third-party-cookie-phaseout",
]
# The profile's own setting, as a reader who turned third-party cookies off has it.
BLOCK_THIRD_PARTY_COOKIES = {
    "profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}
}
DEADLINE_SECONDS = 20
SERIOUS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}  # a small phone's viewport, in CSS pixels

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, seconds: float = DEADLINE_SECONDS) -> T:
    """Poll ``condition`` until it returns something truthy, or fail after the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


class Service:
    """``newsletter serve`` on ``http://127.0.0.1:PORT`` over its own instance folder."""

    def __init__(self, instance: Path, port: int, mail_url: str) -> None:
        self.instance = instance
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = instance.parent / "serve.log"
        self.environment = {
            key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")
        }
        self.environment.update(
            NEWSLETTER_INSTANCE_PATH=str(instance),
            NEWSLETTER_MAIL_URL=mail_url,
            NEWSLETTER_RATELIMIT_ENABLED="false",
        )
        self._process: subprocess.Popen | None = None

    @property
    def database(self) -> Path:
        return self.instance / "newsletter.db"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``newsletter`` command against this instance (``stdin`` typed into it);
        returns its output."""
        result = subprocess.run(
            [str(NEWSLETTER), *args],
            input=stdin,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"newsletter {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    def create_editor(self, email: str, password: str) -> None:
        """An editor's account on this instance (the first one is an owner)."""
        self.cli("admins", "create", email, "--password-stdin", stdin=f"{password}\n")

    def start(self) -> None:
        """Start the server and wait until it answers ``/healthz``."""
        with self.log_path.open("w") as log:
            self._process = subprocess.Popen(
                [str(NEWSLETTER), "serve", "--port", str(self.port)],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, "the server to answer /healthz")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def _healthy(self) -> bool:
        assert self._process is not None
        assert self._process.poll() is None, self.log_path.read_text()
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def rows(self, table: str, **where: str) -> int:
        """How many rows ``table`` holds (matching ``where``), read straight from SQLite."""
        return self._count(table, where)

    def subscriptions_of(self, email: str, **where: str) -> int:
        """How many subscriptions the reader of ``email`` has (matching ``where``)."""
        joined = "subscription JOIN reader ON reader.id = subscription.reader_id"
        return self._count(joined, {"reader.email": email} | where)

    def _count(self, source: str, where: dict[str, str]) -> int:
        clause = " AND ".join(f"{column} = ?" for column in where) or "1 = 1"
        with sqlite3.connect(self.database) as connection:
            query = f"SELECT count(*) FROM {source} WHERE {clause}"  # noqa: S608 (our names)
            return connection.execute(query, tuple(where.values())).fetchone()[0]


class Site:
    """A publisher's site on ``http://localhost:PORT``: one HTML page at ``/article``."""

    def __init__(self, port: int, html: str) -> None:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] != "/article":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.origin = f"http://localhost:{port}"
        self.article = f"{self.origin}/article"
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def launch(playwright, user_data_dir: Path, **options):
    """Chromium with third-party cookies blocked, in a persistent profile of its own."""
    preferences = user_data_dir / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True, exist_ok=True)
    preferences.write_text(json.dumps(BLOCK_THIRD_PARTY_COOKIES))
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        **options,
    )


def serious_violations(target, include: str | None = None) -> list[str]:
    """axe-core's serious and critical violations in a page or frame (or one part of it),
    each described with the rule, the elements and what is wrong with them."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.add_script_tag(path=str(AXE))
    results = target.evaluate(
        """async (include) => {
            const context = include ? { include: [include] } : document;
            return await axe.run(context, { iframes: false, resultTypes: ["violations"] });
        }""",
        include,
    )
    return [
        _describe(violation)
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]


def _describe(violation: dict) -> str:
    """One axe-core violation, readable in a test failure."""
    lines = [f"{violation['impact']} {violation['id']}: {violation['help']}"]
    for node in violation["nodes"]:
        lines.append(textwrap.indent(node["html"], "    "))
        lines.append(textwrap.indent(node["failureSummary"], "      "))
    lines.append(f"    {violation['helpUrl']}")
    return "\n".join(lines)


def messages_to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    """The messages whose envelope went to ``address``."""
    return [message for message in messages if message["X-Envelope-To"] == address]


def sign_in_to_admin(page, base: str, email: str, password: str) -> None:
    """Sign in on the admin's page, as an editor with no second step does."""
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")


def assert_fits_phone_and_passes_axe(page) -> None:
    """Nothing wider than a phone's screen, and axe finds nothing serious or critical."""
    widest = page.evaluate(
        """() => [...document.querySelectorAll("main *")]
            .map((node) => [node.getBoundingClientRect().right, node.outerHTML.slice(0, 80)])
            .filter(([right]) => right > window.innerWidth)"""
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], widest
    assert widest == []
    assert serious_violations(page) == []
