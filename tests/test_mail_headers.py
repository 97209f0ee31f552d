"""Mail headers on the wire: RFC 2047 encoded words within 75 characters, lines folded
within 78, a numeric time zone in ``Date``, and every header decoding back to its text.

A newsroom's newsletter name can be long and Cyrillic, and so can its sender's name: one
encoded word of 88 characters is what some mail software refuses or shows raw.
"""

import re
from email.header import decode_header
from email.header import make_header

from tests.cyrillic_names import LONG_NAME
from tests.cyrillic_names import SENDER_ADDRESS
from tests.cyrillic_names import SENDER_NAME
from tests.cyrillic_names import rename_to_cyrillic
from tests.reader import confirmation_and_welcome

ENCODED_WORD = re.compile(r"=\?[^?]+\?[QB]\?[^?]*\?=", re.IGNORECASE)
# RFC 2047, section 2.
MAX_ENCODED_WORD = 75
# RFC 5322, section 2.1.1: the length a line SHOULD keep to.
MAX_LINE = 78


def unfolded_headers(raw_lines: list[str]) -> dict[str, str]:
    """Header name to its raw value, continuation lines joined as RFC 5322 unfolds them."""
    headers: dict[str, str] = {}
    name = ""
    for line in raw_lines:
        if line[:1] in (" ", "\t"):
            headers[name] += line
        else:
            name, _, value = line.partition(":")
            headers[name] = value.strip()
    return headers


def decoded(raw_value: str) -> str:
    """An unfolded header value with its encoded words decoded, as RFC 2047 says."""
    return str(make_header(decode_header(raw_value)))


def test_long_cyrillic_headers_are_short_encoded_words(client, runner, mailbox):
    rename_to_cyrillic(runner)
    emails = confirmation_and_welcome(client, runner, mailbox)
    subjects = [f"Confirm your subscription to {LONG_NAME}", f"Welcome to {LONG_NAME}"]
    assert len(LONG_NAME) == 120
    for message, subject in zip(emails, subjects, strict=True):
        raw_lines = mailbox.raw_header_lines(message)
        long_lines = [line for line in raw_lines if len(line) > MAX_LINE]
        # The one exception: a URL cannot be folded, and the one-click link must stay whole.
        assert [line for line in long_lines if not line.startswith("List-Unsubscribe: <")] == []
        words = [word for line in raw_lines for word in ENCODED_WORD.findall(line)]
        assert words, "the Cyrillic Subject and From are encoded words"
        assert [word for word in words if len(word) > MAX_ENCODED_WORD] == []

        raw = unfolded_headers(raw_lines)
        assert decoded(raw["Subject"]) == message["Subject"] == subject
        # Not through the parsed message's From: Python before 3.14 keeps the space between
        # two encoded words of a display name, which RFC 2047 (6.2) says to drop
        # (CPython gh-128110); email.header decodes it as mail software does.
        assert decoded(raw["From"]) == f"{SENDER_NAME} <{SENDER_ADDRESS}>"
        assert message["Date"].endswith("+0000")
        assert message["Date"].datetime.utcoffset().total_seconds() == 0
