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


# Ukrainian words around Latin links and addresses: SpamAssassin's MIXED_ES (1.0 point,
# "too many es are not es", against look-alike letters) fires when a message has more than
# 20 Latin "e" and between 1.4 and 10 times as many e-like letters, Cyrillic "е" among them
# (72_active.cf lowers it for Polish, Czech, Slovak, Croatian and Greek, not Ukrainian).
# Both parts count, and every link, the masked address, the signup page, the publisher's
# site and contact address are Latin: with this suite's example.org names that is about 30.
# Below 21 Latin "e" in both parts together (a newsroom on a .ua domain) it does not fire.
LATIN_IN_UKRAINIAN = pytest.mark.xfail(
    strict=True, reason="MIXED_ES: example.org's Latin e's in emails written in Ukrainian"
)


@pytest.mark.parametrize(
    "naming", ["seed", "cyrillic", pytest.param("ukrainian", marks=LATIN_IN_UKRAINIAN)]
)
def test_every_email_scores_at_most_zero_before_infrastructure_rules(
    spamassassin, client, runner, mailbox, naming
):
    """The seed's English newsletter; a 120-character Cyrillic one with a Cyrillic sender,
    in English; and every email in Ukrainian. Summed as SpamAssassin reports a score, to a
    tenth: its informational rules (HTML_MESSAGE for any HTML part) weigh 0.001."""
    if naming == "ukrainian":
        messages = list(every_email(client, runner, mailbox, "uk").values())
    else:
        if naming == "cyrillic":
            rename_to_cyrillic(runner)
        messages = confirmation_and_welcome(client, runner, mailbox)
    for message in messages:
        scores = rule_scores(spamassassin, mailbox.raw(message))
        content = {
            rule: points
            for rule, points in scores.items()
            if not INFRASTRUCTURE_RULES.fullmatch(rule)
        }
        assert round(sum(content.values()), 1) <= 0, (message["Subject"], content)
