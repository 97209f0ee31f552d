"""Every email we send scores at most 0 with SpamAssassin, before infrastructure rules.

Debian's ``spamassassin`` scores the messages exactly as the SMTP server received them,
offline (``-L``: no DNS, no blocklists). Rules about how the mail travelled (signatures,
the sending server's records and reputation) are left out: a test has no DNS, no DKIM key
and no relay, and production gets those from its mail server's setup, not from our text.
Everything else (headers, MIME structure, wording, HTML) is ours and counts. Skips with
the reason where ``spamassassin`` is missing; fails in CI, which installs it.
"""

import re
import shutil
import subprocess
from email import message_from_bytes
from email import policy

import pytest

from tests.conftest import missing_service
from tests.cyrillic_names import rename_to_cyrillic
from tests.every_email import editor_emails
from tests.every_email import every_email
from tests.reader import confirmation_and_welcome

# Rules that judge the delivery, not the message. DKIM_*, SPF_*, DMARC_*: signatures and
# the sender domain's DNS records, added by the sending mail server. RCVD_IN_*, RDNS_*,
# URIBL_*, DNSWL_*: blocklists and reverse DNS, network look-ups that -L turns off
# (listed in case a rule fires without its answer). NO_RELAYS, NO_RECEIVED: the message
# went straight to the test's server, with no Received header from a relay.
INFRASTRUCTURE_RULES = re.compile(
    r"(DKIM|SPF|DMARC|RCVD_IN|RDNS|URIBL|DNSWL)_\w+|NO_RELAYS|NO_RECEIVED"
)
# SpamAssassin writes each rule's score into this header of its output.
SCORES_HEADER = "X-Spam-Tests"
SPAMASSASSIN_TIMEOUT_SECONDS = 120


@pytest.fixture
def spamassassin() -> str:
    """The ``spamassassin`` program: skips on a laptop without it, fails in CI."""
    program = shutil.which("spamassassin")
    if program is None:
        missing_service("spamassassin is missing (apt-get install spamassassin)")
    return program


def rule_scores(spamassassin: str, raw: bytes) -> dict[str, float]:
    """Each rule the message hits, with its points, as ``spamassassin -L`` scores it."""
    scored = subprocess.run(
        [
            spamassassin,
            "--local",
            "--nocreate-prefs",
            f"--cf=add_header all {SCORES_HEADER.removeprefix('X-Spam-')} _TESTSSCORES(,)_",
        ],
        input=raw,
        capture_output=True,
        check=True,
        timeout=SPAMASSASSIN_TIMEOUT_SECONDS,
    )
    header = message_from_bytes(scored.stdout, policy=policy.default)[SCORES_HEADER] or ""
    pairs = (item.split("=") for item in "".join(header.split()).split(",") if item)
    return {rule: float(points) for rule, points in pairs}


# SpamAssassin's MIXED_ES (1.0 point, "too many es are not es", against Latin words spelt
# with look-alike letters) counts, over the subject and both parts, the Latin "e" and the
# e-like letters (Latin "e" itself, accented ones, and the Cyrillic "е", "є" and "ё"). It
# fires on more than 20 Latin "e" with 1.4 to 10 times as many e-like letters: on any
# email in Ukrainian with more than 20 Latin "e". Ours has Latin only in what is not
# words: links, addresses and the names the newsroom configured, once in each part. With
# example.org in each (this suite's defaults: links to news.example.org, the publisher
# "Newsletter", the contact newsletter@example.org) the footer alone has 22; a Ukrainian
# newsroom's own settings (README, "Languages": the publisher's name in Ukrainian, the
# service, its site and address on its domain) leave the reader's masked address and the
# links' random tokens (about 1.5 "e" each): under 10.
UKRAINIAN_NEWSROOM = {
    "PUBLIC_URL": "https://novyny.ua",
    "PUBLISHER_NAME": "Редакція «Пояснюючи Україну»",
    "CONTACT_ADDRESS": "lysty@novyny.ua",
}


@pytest.mark.parametrize("naming", ["seed", "cyrillic", "english", "ukrainian"])
def test_every_email_scores_at_most_zero_before_infrastructure_rules(
    spamassassin, app, client, runner, mailbox, naming
):
    """The seed's English newsletter; a 120-character Cyrillic one with a Cyrillic sender,
    in English; every email in English (the editors' alert too); and every email in
    Ukrainian, from a Ukrainian newsroom. Summed as SpamAssassin reports a score, to a
    tenth: its informational rules (HTML_MESSAGE for any HTML part) weigh 0.001."""
    if naming == "seed":
        messages = confirmation_and_welcome(client, runner, mailbox)
    elif naming == "cyrillic":
        rename_to_cyrillic(runner)
        messages = confirmation_and_welcome(client, runner, mailbox)
    elif naming == "english":
        messages = [
            *every_email(client, runner, mailbox, "en").values(),
            *editor_emails(app, client, runner, mailbox).values(),
        ]
    else:
        app.config.update(UKRAINIAN_NEWSROOM)
        messages = list(every_email(client, runner, mailbox, "uk").values())
    for message in messages:
        scores = rule_scores(spamassassin, mailbox.raw(message))
        content = {
            rule: points
            for rule, points in scores.items()
            if not INFRASTRUCTURE_RULES.fullmatch(rule)
        }
        assert round(sum(content.values()), 1) <= 0, (message["Subject"], content)
