"""A newsletter's own sender: its emails come from it; a bad one is refused."""

import pytest

from tests.reader import deliver
from tests.reader import sign_up

SLUG = "explaining-ukraine"


@pytest.mark.parametrize(
    ("sender", "envelope_sender"),
    [
        ("Kate Tsurkan <Kate@Example.ORG>", "Kate@example.org"),
        # A Unicode domain goes out in its IDNA 2008 form, in MAIL FROM and in From.
        ("Kate Tsurkan <kate@straße.de>", "kate@xn--strae-oqa.de"),
    ],
)
def test_emails_come_from_the_newsletters_sender(
    app, client, runner, mailbox, sender, envelope_sender
):
    result = runner.invoke(args=["newsletters", "update", SLUG, "--sender", sender])
    assert result.exit_code == 0, result.output
    sign_up(client, "reader@example.com")
    deliver(runner)
    deliver(runner)
    [confirmation] = mailbox.messages
    assert confirmation["From"] == f"Kate Tsurkan <{envelope_sender}>"
    assert confirmation["X-Envelope-From"] == envelope_sender


def test_without_a_sender_emails_come_from_mail_from(app, client, runner, mailbox):
    sign_up(client, "reader@example.com")
    deliver(runner)
    assert mailbox.messages[0]["From"] == app.config["MAIL_FROM"]


@pytest.mark.parametrize(
    "sender", ["not an address", "Kate <kate@localhost>", "Kate\x07 <kate@example.org>"]
)
def test_a_bad_sender_is_refused_by_the_cli(app, runner, sender):
    result = runner.invoke(args=["newsletters", "update", SLUG, "--sender", sender])
    assert result.exit_code != 0
    assert "sender" in result.output
    listed = runner.invoke(
        args=["newsletters", "create", "--slug", "x", "--name", "X", "--sender", sender]
    )
    assert listed.exit_code != 0
