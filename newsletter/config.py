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
    # Who writes, as every email's footer says: the publisher's name (None: MAIL_FROM's
    # display name), its site (None: PUBLIC_URL), an address readers can write to (None:
    # MAIL_FROM's address), and its postal address (CAN-SPAM; shown when set).
    "PUBLISHER_NAME": None,
    "PUBLISHER_URL": None,
    "CONTACT_ADDRESS": None,
    "POSTAL_ADDRESS": "",
    # How long a confirmation link works, in seconds (7 days).
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    # A pending address gets its confirmation again at most once per this many seconds.
    "CONFIRMATION_RESEND_INTERVAL": 10 * 60,
    # Rows an import applies per transaction: a failure half-way keeps the batches before.
    "IMPORT_BATCH_SIZE": 5000,
    # The largest file the admin's import page takes, in bytes (a million-row Mailchimp
    # export is about 300 MB); a larger upload is refused with 413 before it is read.
    "IMPORT_MAX_UPLOAD_BYTES": 512 * 1024 * 1024,
    # A worker's claim on an uploaded import lasts this many seconds, renewed after each
    # batch: if the worker dies, another runs the file again after that.
    "IMPORT_LEASE_SECONDS": 120,
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
    # DKIM: the path of a PEM RSA private key, its selector and its domain (all or none).
    "DKIM_PRIVATE_KEY": None,
    "DKIM_SELECTOR": None,
    "DKIM_DOMAIN": None,
    # Outgoing webhooks: seconds an attempt may wait for the receiver (per connect, send or
    # read); first retry after this many seconds, doubling up to the maximum; an endpoint
    # whose every attempt failed for this long is disabled (a day).
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_RETRY_BASE_SECONDS": 30,
    "WEBHOOK_MAX_BACKOFF_SECONDS": 3600,
    "WEBHOOK_DISABLE_AFTER_SECONDS": 24 * 3600,
    # Allow http:// webhook URLs to this machine (tests, a receiver on the same host).
    "WEBHOOK_ALLOW_LOOPBACK": False,
    # Editors are mailed when a newsletter's new signups in the last hour reach this many
    # times its usual hourly rate (of the week before), and at least the minimum.
    "SIGNUP_WAVE_MULTIPLE": 10,
    "SIGNUP_WAVE_MIN_SIGNUPS": 50,
    # Deliver queued mail from a thread inside the web process (`newsletter serve`).
    "MAIL_BACKGROUND_SENDER": False,
    # Audit entries older than this many days go at `newsletter audit purge` (run it daily).
    "AUDIT_RETENTION_DAYS": 730,
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
    # Codes at the second sign-in step for one account, from every network together: a
    # stolen password tried from many networks still gets few guesses at the code.
    "LOGIN_CODE_RATE_LIMIT": "20 per hour",
    # Every editor must sign in with a second factor (TOTP): those without one enrol at
    # their next sign-in.
    "ADMIN_REQUIRE_2FA": False,
    # If Redis is down, count in memory rather than refuse readers.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    # Bounces and complaints (``newsletter.bounces``). With an address, mail goes out with
    # the VERP envelope sender local+<token>@domain, which a bounce finds its message by.
    "BOUNCE_ADDRESS": None,
    # Soft bounces (a full mailbox, a server down) of one subscription that make a bounce.
    "SOFT_BOUNCE_LIMIT": 3,
    # POST /webhooks/bounces/<provider>: each provider is refused (401) until configured.
    # Amazon SES via SNS: the topics whose notifications we take (comma-separated ARNs),
    # and the hosts SNS signing certificates and subscription URLs may come from.
    "SES_TOPIC_ARNS": "",
    "SNS_HOST_PATTERN": r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?",
    # Postmark: "user:password" of the webhook URL's HTTP Basic authentication.
    "POSTMARK_WEBHOOK_AUTH": "",
    # Mailgun: the HTTP webhook signing key.
    "MAILGUN_WEBHOOK_SIGNING_KEY": "",
    # SendGrid: the signed Event Webhook's verification key (base64 DER, or PEM).
    "SENDGRID_WEBHOOK_PUBLIC_KEY": "",
    # How SNS certificates and subscription URLs are fetched: None is HTTPS with the
    # system's CA store; a callable (url -> bytes) stands in for it (tests, a proxy).
    "HTTP_FETCH": None,
    # Signed webhook calls older than this many seconds (or this far ahead) are refused.
    "WEBHOOK_MAX_AGE_SECONDS": 3600,
    # Webhook calls per client network; providers send in bursts, so it is generous.
    "WEBHOOK_RATE_LIMIT": "600 per minute",
    # Providers batch their events (SendGrid posts arrays): a larger body than a form's.
    "WEBHOOK_MAX_CONTENT_LENGTH": 1024 * 1024,
    # Unsubscribe and confirm POSTs come from mail clients and scanners: no cookie CSRF.
    "WTF_CSRF_TIME_LIMIT": None,
    # An editor's session ends after this many seconds without a request (a working day).
    "ADMIN_SESSION_IDLE_SECONDS": 8 * 3600,
    # Days after which the IP addresses of consent evidence are removed by `newsletter
    # daily` (the record that consent was given, and when, stays); None keeps them.
    "IP_RETENTION_DAYS": None,
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
    publisher_url = app.config["PUBLISHER_URL"]
    if publisher_url and not str(publisher_url).startswith(("https://", "http://")):
        raise ConfigurationError(
            "PUBLISHER_URL must be the publisher's site, starting with https:// or http://"
        )
    contact = app.config["CONTACT_ADDRESS"]
    if contact and "@" not in str(contact):
        raise ConfigurationError(
            "CONTACT_ADDRESS must be an email address, such as letters@example.org"
        )
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")
    app.config["IP_RETENTION_DAYS"] = _retention_days(app.config["IP_RETENTION_DAYS"])
    app.config["AUDIT_RETENTION_DAYS"] = _whole_days(
        "NEWSLETTER_AUDIT_RETENTION_DAYS", app.config["AUDIT_RETENTION_DAYS"]
    )
    # Editors' sessions are permanent, renewed by each request (SESSION_REFRESH_EACH_REQUEST),
    # so they last this long after the last one; Flask refuses older cookies.
    idle = timedelta(seconds=int(app.config["ADMIN_SESSION_IDLE_SECONDS"]))
    app.config["PERMANENT_SESSION_LIFETIME"] = idle


def _retention_days(value: object) -> int | None:
    """``IP_RETENTION_DAYS`` as a whole number of days (None or 0: keep the IPs)."""
    if value is None or value == "" or value == 0:
        return None
    return _whole_days("NEWSLETTER_IP_RETENTION_DAYS", value)


def _whole_days(name: str, value: object) -> int:
    """A setting that is a number of days, at least one; refused at start otherwise."""
    try:
        days = int(str(value))
    except ValueError:
        days = -1
    if days < 1:
        raise ConfigurationError(f"{name} must be a whole number of days, not {value!r}")
    return days


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
