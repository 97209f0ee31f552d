"""Fixtures: the app on each database backend, a real SMTP server, Redis for shared limits.

Every test that takes ``app`` runs twice: on SQLite, and on PostgreSQL at
``NEWSLETTER_TEST_DATABASE_URL``. Without that variable (or without the server) the
PostgreSQL runs skip with the reason on a laptop, and fail when ``CI=true``.
"""

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from newsletter import create_app
from newsletter import migrations
from newsletter import newsletters
from newsletter.db import database
from newsletter.db.base import Base
from tests.browser import AXE
from tests.browser import CHROMIUM
from tests.browser import launch
from tests.mailbox import Mailbox

IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
POSTGRES_URL_VARIABLE = "NEWSLETTER_TEST_DATABASE_URL"
REDIS_URL_VARIABLE = "NEWSLETTER_TEST_REDIS_URL"
SLUG = "explaining-ukraine"


def missing_service(reason: str) -> None:
    """Skip on a laptop; fail in CI, where every service must be there."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """``host:port`` of a server that takes connections into its backlog and never answers.

    What a database server looks like when its machine hangs: the TCP connection opens,
    nothing comes back. Only the client's connect timeout ends the wait.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        host, port = listener.getsockname()
        yield f"{host}:{port}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slower)."""
    path = tmp_path_factory.mktemp("template") / "newsletter.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A database of this test process's own on the PostgreSQL server, migrated once.

    Named after the process, so parallel workers and parallel runs never share one.
    """
    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        missing_service(f"{POSTGRES_URL_VARIABLE} is not set (PostgreSQL tests need it)")
    name = f"newsletter_test_{os.getpid()}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        missing_service(f"PostgreSQL at {POSTGRES_URL_VARIABLE} is not reachable: {error}")
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# For what only a database server can show (a connection cut, several processes on one
# database): the ``app`` of such a test runs on PostgreSQL alone, so CI reports no skip.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """An empty, migrated database on the backend this run of the test is for."""
    if request.param == "sqlite":
        path = tmp_path / "newsletter.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def smtp_server() -> Mailbox:
    """A real SMTP server (aiosmtpd) on a local port, for the whole session."""
    mailbox = Mailbox(port=free_port())
    mailbox.start()
    yield mailbox
    mailbox.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The SMTP server, emptied for this test."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def settings(database_url: str, mailbox: Mailbox, tmp_path: Path) -> dict:
    """The test app's configuration; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": tmp_path / "instance",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test secret key",
        "MAIL_URL": mailbox.url,
        "MAIL_FROM": "Newsletter <newsletter@example.org>",
        "PUBLIC_URL": "https://news.example.org",
        "MAIL_RETRY_BASE_SECONDS": 0,
    }


@pytest.fixture
def app(settings: dict):
    """The app, with the first newsletter seeded as ``newsletter serve`` would."""
    app = create_app(settings)
    with app.app_context(), database(app).transaction() as session:
        newsletters.seed_default(session)
    yield app
    database(app).engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def redis_url() -> str:
    """The Redis server for shared limits; skips on a laptop without one, fails in CI."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        missing_service(f"{REDIS_URL_VARIABLE} is not set (shared rate-limit tests need Redis)")
    server = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        server.ping()
    except redis.RedisError as error:
        server.close()
        missing_service(f"Redis at {REDIS_URL_VARIABLE} is not reachable: {error}")
    yield url
    server.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> str:
    """A key prefix of this test's own, removed from Redis afterwards."""
    prefix = f"newsletter-test-{uuid.uuid4().hex}"
    yield prefix
    server = redis.Redis.from_url(redis_url)
    try:
        for key in server.scan_iter(match=f"*{prefix}*"):
            server.delete(key)
    finally:
        server.close()


# --- Chromium, for the browser tests (tests/browser.py has their helpers) -------------------


@pytest.fixture(scope="module")
def playwright():
    if not CHROMIUM.exists():
        missing_service(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    """One Chromium profile per module, blocking third-party cookies, saving downloads."""
    context = launch(playwright, tmp_path_factory.mktemp("profile"), accept_downloads=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def axe_browser(playwright, tmp_path_factory):
    """A second profile that ignores CSP, so axe-core can be injected into our pages."""
    if not AXE.exists():
        missing_service(f"{AXE} is missing (npm ci installs axe-core)")
    context = launch(playwright, tmp_path_factory.mktemp("axe-profile"), bypass_csp=True)
    yield context
    context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


@pytest.fixture
def axe_page(axe_browser):
    page = axe_browser.new_page()
    yield page
    page.close()
