"""DKIM: every email the worker sends is signed, as a real SMTP server receives it.

Verified with dkimpy, whose DNS look-up is answered from the test's own key the way
``newsletter dkim dns`` says to publish it: a wrong record would fail every message.
"""

import os
import subprocess
import sys
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter import create_app
from newsletter import newsletters
from newsletter.config import ConfigurationError
from newsletter.db import database
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.test_manage_link import ask_for_link

SELECTOR = "mail2026"
DOMAIN = "news.example.org"
READER = "reader@example.com"


def write_key(path) -> str:
    """A new 2048-bit RSA key in PEM, written to ``path``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture
def signing_settings(settings, tmp_path) -> dict:
    settings.update(
        DKIM_PRIVATE_KEY=write_key(tmp_path / "dkim.pem"),
        DKIM_SELECTOR=SELECTOR,
        DKIM_DOMAIN=DOMAIN,
    )
    return settings


@pytest.fixture
def signing_app(signing_settings):
    app = create_app(signing_settings)
    with app.app_context(), database(app).transaction() as session:
        newsletters.seed_default(session)
    yield app
    database(app).engine.dispose()


def published_record(app) -> tuple[str, str]:
    """The record ``newsletter dkim dns`` prints: its name, and its text joined."""
    result = app.test_cli_runner().invoke(args=["dkim", "dns"])
    assert result.exit_code == 0, result.output
    name, _, rest = result.output.partition(". IN TXT ")
    text = "".join(part for part in rest.strip("( )\n").split('"') if part.strip())
    return name, text


def dns_answering(app):
    """A resolver for dkimpy that knows our one record, as the operator published it."""
    name, text = published_record(app)
    assert name == f"{SELECTOR}._domainkey.{DOMAIN}"

    def dnsfunc(queried: bytes, timeout: int = 5) -> bytes | None:
        return text.encode() if queried.decode().rstrip(".") == name else None

    return dnsfunc


def every_email(app, mailbox, language: str) -> list:
    """Confirmation, welcome and manage link, for a reader in ``language``."""
    client, runner = app.test_client(), app.test_cli_runner()
    headers = {"Accept-Language": language}
    assert sign_up(client, READER, **headers).status_code == 303
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    ask_for_link(client, READER)
    deliver(runner)
    return mailbox.messages


@pytest.mark.parametrize("language", ["en", "uk"])
def test_every_email_is_signed_and_verifies(signing_app, mailbox, language):
    dnsfunc = dns_answering(signing_app)
    messages = every_email(signing_app, mailbox, language)
    assert len(messages) == 3
    assert messages[0]["Subject"].startswith("Confirm") is (language == "en")
    for message in messages:
        raw = mailbox.raw(message)
        assert dkim.verify(raw, dnsfunc=dnsfunc), message["Subject"]
        signature = dkim.DKIM(raw)
        signature.verify(dnsfunc=dnsfunc)
        signed = {name.decode().lower() for name in signature.include_headers}
        expected = {"from", "to", "subject", "date", "message-id"}
        if message["List-Unsubscribe"]:
            expected |= {"list-id", "list-unsubscribe", "list-unsubscribe-post"}
        assert expected <= signed, message["Subject"]
        assert b"c=relaxed/relaxed" in raw.split(b"\r\n\r\n")[0].replace(b"\r\n", b"")


def test_a_tampered_body_or_one_click_header_fails(signing_app, mailbox):
    dnsfunc = dns_answering(signing_app)
    welcome = every_email(signing_app, mailbox, "en")[1]
    raw = mailbox.raw(welcome)
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert not dkim.verify(
        head + b"\r\n\r\n" + body.replace(b"Welcome", b"Wclcome"), dnsfunc=dnsfunc
    )
    assert b"/unsubscribe/" in head
    forged = head.replace(b"/unsubscribe/", b"/unsubscribe/x") + b"\r\n\r\n" + body
    assert not dkim.verify(forged, dnsfunc=dnsfunc)


def test_without_a_key_nothing_is_signed(client, runner, mailbox):
    sign_up(client, READER)
    deliver(runner)
    assert mailbox.messages[0]["DKIM-Signature"] is None
    result = runner.invoke(args=["dkim", "dns"])
    assert result.exit_code == 1
    assert "DKIM is off" in result.output


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"DKIM_PRIVATE_KEY": "/nonexistent/dkim.pem"}, "cannot read /nonexistent/dkim.pem"),
        ({"DKIM_SELECTOR": None}, "set NEWSLETTER_DKIM_SELECTOR too"),
        ({"DKIM_PRIVATE_KEY": "garbage"}, "is not a PEM RSA private key"),
    ],
)
def test_a_bad_key_stops_the_app_at_start(signing_settings, tmp_path, change, words):
    if change.get("DKIM_PRIVATE_KEY") == "garbage":
        (tmp_path / "garbage.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END")
        change = {"DKIM_PRIVATE_KEY": str(tmp_path / "garbage.pem")}
    signing_settings.update(change)
    with pytest.raises(ConfigurationError, match=words):
        create_app(signing_settings)


def test_the_worker_command_refuses_to_start_with_an_unreadable_key(tmp_path):
    environment = {
        **os.environ,
        "NEWSLETTER_INSTANCE_PATH": str(tmp_path / "instance"),
        "NEWSLETTER_DKIM_PRIVATE_KEY": str(tmp_path / "missing.pem"),
        "NEWSLETTER_DKIM_SELECTOR": SELECTOR,
        "NEWSLETTER_DKIM_DOMAIN": DOMAIN,
    }
    newsletter = Path(sys.executable).parent / "newsletter"
    for command in (["worker", "--once"], ["serve", "--port", "0"]):
        result = subprocess.run(
            [newsletter, *command], env=environment, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1
        assert f"newsletter: NEWSLETTER_DKIM_PRIVATE_KEY: cannot read {tmp_path}" in result.stderr
        assert "Traceback" not in result.stderr
