"""SMTP with TLS and a password: STARTTLS to a private CA, failures named for what they are,
and no password ever sent unencrypted to another machine.

The servers are real (aiosmtpd with STARTTLS and AUTH); their certificates are issued by a
certificate authority made for the test (trustme).
"""

import ssl
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from newsletter import create_app
from newsletter.cli import main
from newsletter.config import ConfigurationError
from newsletter.db import database
from newsletter.models import OutboxMessage
from newsletter.models import OutboxStatus
from tests.conftest import free_port
from tests.mailbox import Mailbox
from tests.reader import deliver
from tests.reader import sign_up

USER = "newsletter"
PASSWORD = "s3cret-Pa55word"  # noqa: S105 (the test server's)


class TlsMailbox(Mailbox):
    """An SMTP server offering STARTTLS, with AUTH only after it, for one user and password."""

    def __init__(self, port: int, ca: trustme.CA) -> None:
        self.ca = ca
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        super().__init__(
            port,
            tls_context=context,
            authenticator=self.authenticate,
            auth_require_tls=True,
        )
        self.logins: list[tuple[str, bool]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = auth_data.login.decode()
        self.logins.append((login, session.ssl is not None))
        accepted = (login, auth_data.password.decode()) == (USER, PASSWORD)
        # Not "handled": aiosmtpd then answers a refusal with 535 itself.
        return AuthResult(success=accepted, handled=False)


def write_ca(ca: trustme.CA, folder: Path, name: str) -> Path:
    path = folder / name
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def tls_mailbox():
    server = TlsMailbox(free_port(), trustme.CA())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server_ca(tls_mailbox, tmp_path) -> Path:
    """The CA that issued the test server's certificate, as a PEM file."""
    return write_ca(tls_mailbox.ca, tmp_path, "server-ca.pem")


def starttls_url(mailbox: Mailbox, cafile: Path, password: str = PASSWORD) -> str:
    return f"smtp://{USER}:{password}@127.0.0.1:{mailbox.port}?starttls=true&cafile={cafile}"


def outbox_rows(app) -> list[OutboxMessage]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def failure_log(caplog) -> str:
    return "\n".join(
        record.getMessage() for record in caplog.records if record.name == "newsletter.mail.worker"
    )


@pytest.fixture
def via_private_ca(settings, tls_mailbox, server_ca) -> None:
    settings["MAIL_URL"] = starttls_url(tls_mailbox, server_ca)


@pytest.fixture
def via_another_ca(settings, tls_mailbox, tmp_path) -> None:
    settings["MAIL_URL"] = starttls_url(tls_mailbox, write_ca(trustme.CA(), tmp_path, "other.pem"))


@pytest.fixture
def with_a_wrong_password(settings, tls_mailbox, server_ca) -> None:
    settings["MAIL_URL"] = starttls_url(tls_mailbox, server_ca, password="wrong-password")


@pytest.fixture
def to_a_server_that_is_down(settings) -> None:
    settings["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"


def test_mail_goes_out_over_starttls_to_a_server_of_a_private_ca(
    via_private_ca, tls_mailbox, app, client, runner
):
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(runner)
    deliver(runner)

    [message] = tls_mailbox.messages
    assert message["X-Envelope-To"] == "reader@example.com"
    assert tls_mailbox.logins == [(USER, True)]  # logged in, and only over TLS
    assert {row.status for row in outbox_rows(app)} == {OutboxStatus.SENT}


def test_a_certificate_from_another_ca_is_named_and_the_mail_waits(
    via_another_ca, tls_mailbox, app, client, runner, caplog
):
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(runner)

    assert "TLS certificate verification failed for 127.0.0.1" in failure_log(caplog)
    assert "cannot reach" not in failure_log(caplog)
    [queued] = outbox_rows(app)
    assert queued.status is OutboxStatus.QUEUED
    assert "TLS certificate verification failed" in queued.last_error
    assert tls_mailbox.messages == []
    assert tls_mailbox.logins == []  # the password never left


def test_a_wrong_password_is_logged_as_refused_authentication(
    with_a_wrong_password, tls_mailbox, app, client, runner, caplog
):
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(runner)

    logged = failure_log(caplog)
    assert "authentication refused by 127.0.0.1" in logged
    assert "cannot reach" not in logged
    assert "wrong-password" not in caplog.text
    [queued] = outbox_rows(app)
    assert queued.status is OutboxStatus.QUEUED
    assert "authentication refused" in queued.last_error
    assert "wrong-password" not in queued.last_error
    assert tls_mailbox.messages == []


def test_a_server_that_is_down_is_logged_as_refusing_the_connection(
    to_a_server_that_is_down, app, client, runner, caplog
):
    assert sign_up(client, "reader@example.com").status_code == 303
    deliver(runner)
    assert "connection refused by 127.0.0.1" in failure_log(caplog)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@mail.example.org:25",
        "smtp://user:pass@mail.example.org",
        "smtp://user:pass@mail.example.org:587?starttls=false",
        "smtp://user:pass@192.0.2.25:2525",
    ],
)
def test_a_password_without_tls_to_another_machine_is_refused_at_start(settings, url):
    settings["MAIL_URL"] = url
    with pytest.raises(ConfigurationError, match="password unencrypted to .*mail.example.org|192"):
        create_app(settings)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:pass@mail.example.org:587",  # STARTTLS: the default on the submission port
        "smtp://user:pass@mail.example.org:25?starttls=true",
        "smtps://user:pass@mail.example.org",
        "smtp://user:pass@127.0.0.1:25",  # this machine: nothing crosses a network
        "smtp://user:pass@localhost:25",
        "smtp://user:pass@[::1]:25",
        "smtp://mail.example.org:25",  # no password to give away
    ],
)
def test_tls_or_loopback_or_no_password_is_accepted(settings, url):
    settings["MAIL_URL"] = url
    assert create_app(settings).config["MAIL_URL"] == url


def test_a_missing_cafile_is_refused_at_start(settings, tmp_path):
    settings["MAIL_URL"] = f"smtps://mail.example.org?cafile={tmp_path / 'nowhere.pem'}"
    with pytest.raises(ConfigurationError, match="cannot load the CA certificates"):
        create_app(settings)


def test_the_command_line_names_the_refused_setting(settings, tmp_path, monkeypatch, capsys):
    """``newsletter …`` says what is wrong in one line, not with a traceback."""
    monkeypatch.setenv("NEWSLETTER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("NEWSLETTER_MAIL_URL", "smtp://user:pass@mail.example.org:25")
    monkeypatch.setattr("sys.argv", ["newsletter", "worker", "--once"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert "NEWSLETTER_MAIL_URL would send the SMTP password unencrypted" in str(
        exit_info.value.code
    )
