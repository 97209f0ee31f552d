"""Configuration: documented defaults, then instance/config.py, then NEWSLETTER_* variables.

Every setting has a default that works on a laptop. Defaults that depend on where the
instance folder is (the SQLite file, the secret key file, the mail folder) are filled in
by :func:`finish` once the layers above have had their say.
"""

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Flask

LOCAL_URL = "http://127.0.0.1:5000"
PRIVATE_FOLDER_MODE = 0o700


class ConfigurationError(ValueError):
    """A setting is unsafe or cannot work; the message says which and what to do."""


DEFAULTS = {
    # SQLAlchemy URL; None means a SQLite file in the instance folder.
    "DATABASE_URL": None,
    # Seconds a new connection to the database server may take before the request gets a
    # 503 (PostgreSQL; libpq counts anything under 2 as 2).
    "DATABASE_CONNECT_TIMEOUT": 5,
    # None means: messages written as .eml files under instance/mail, links logged.
    "MAIL_URL": None,
    "MAIL_FROM": "Newsletter <newsletter@localhost>",
    # Base of every link in an email; never taken from the request's Host header.
    # None means: the address `newsletter serve` listens on (http://127.0.0.1:5000).
    "PUBLIC_URL": None,
    # How long a confirmation link works, in seconds (7 days).
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    # A pending address gets its confirmation again at most once per this many seconds.
    "CONFIRMATION_RESEND_INTERVAL": 10 * 60,
    # Rows an import applies per transaction: a failure half-way keeps the batches before.
    "IMPORT_BATCH_SIZE": 1000,
    # How long an iframe signup form may sit open before its token expires (a day).
    "EMBED_FORM_MAX_AGE": 24 * 3600,
    # A change to a newsletter made in another process reaches this one's reader-facing
    # pages within this many seconds (see newsletter.newsletter_snapshot).
    "NEWSLETTER_SNAPSHOT_SECONDS": 1.0,
    # Serve a sample article page at /demo/article embedding the form both ways.
    "DEMO": False,
    # Look up the domain's MX/A records when validating an address (off: no DNS traffic).
    "CHECK_DELIVERABILITY": False,
    # First retry of a failed delivery after this many seconds, doubling up to a day.
    "MAIL_RETRY_BASE_SECONDS": 30,
    # After this many failed attempts a message is marked failed for an editor to see.
    "MAIL_MAX_ATTEMPTS": 10,
    # A worker's claim on a message lasts this many seconds: if the worker dies, another
    # sends the message after that (a send must finish well within it).
    "MAIL_LEASE_SECONDS": 5 * 60,
    # Deliver queued mail from a thread inside the web process (`newsletter serve`).
    "MAIL_BACKGROUND_SENDER": False,
    # Number of reverse proxies in front of the app that set X-Forwarded-* headers.
    "PROXY_HOPS": 0,
    # Requests with larger bodies are refused with 413 before they are read.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    # Signups per client network (an IPv4 address or an IPv6 /64), on all forms together;
    # generous, for a newsroom's office or a mobile carrier's shared address.
    "SIGNUP_RATE_LIMIT": "20 per minute;200 per hour",
    # Signups per address, on all newsletters together (stops list bombing).
    "ADDRESS_RATE_LIMIT": "10 per hour",
    # Sign-in attempts to /admin for one account from one client network (a right
    # password forgets that account's failures there)...
    "LOGIN_RATE_LIMIT": "10 per 15 minutes",
    # ...and from one client network on any account.
    "LOGIN_NETWORK_RATE_LIMIT": "30 per 15 minutes",
    # If Redis is down, count in memory rather than refuse readers.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Unsubscribe and confirm POSTs come from mail clients and scanners: no cookie CSRF.
    "WTF_CSRF_TIME_LIMIT": None,
    # An editor's session ends after this many seconds without a request (a working day).
    "ADMIN_SESSION_IDLE_SECONDS": 8 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}


def load(app: Flask, test_config: dict | None) -> None:
    """Layer the configuration: defaults, instance/config.py, environment, test mapping."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("NEWSLETTER")
    else:
        app.config.from_mapping(test_config)
    finish(app)


def finish(app: Flask) -> None:
    """Fill the defaults that live in the instance folder, and normalise what was given."""
    instance = Path(app.instance_path)
    # Its files hold addresses and the secret key: for the owner's eyes only.
    instance.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'newsletter.db'}"
    # Flask's default is None: then a key is generated once and kept in instance/.
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    app.config["PUBLIC_URL_IS_DEFAULT"] = not app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = str(app.config["PUBLIC_URL"] or LOCAL_URL).rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")
    # Editors' sessions are permanent, renewed by each request (SESSION_REFRESH_EACH_REQUEST),
    # so they last this long after the last one; Flask refuses older cookies.
    idle = timedelta(seconds=int(app.config["ADMIN_SESSION_IDLE_SECONDS"]))
    app.config["PERMANENT_SESSION_LIFETIME"] = idle


def _instance_secret(path: Path) -> str:
    """Read the secret kept in the instance folder, creating it on first use.

    The key is written to a private temporary file (mode 0600) and linked into place, which
    fails if another process got there first: every process then reads the same complete key.
    """
    if not path.exists():
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(file.name, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(file.name)
    return path.read_text(encoding="ascii").strip()
