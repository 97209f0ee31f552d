"""A newsletter named as a Ukrainian newsroom could name it: 120 characters of Cyrillic,
and a sender whose display name is Cyrillic too. Mail headers and spam scores are tested
with it as well as with the seed's English name."""

from tests.reader import SLUG

LONG_NAME = ("Пояснюючи Україну з Кейт Цуркан: щотижневий лист про війну, культуру й людей. " * 2)[
    :120
].strip()
SENDER_NAME = "Кейт Цуркан з редакції «Пояснюючи Україну»"
SENDER_ADDRESS = "kate@example.org"


def rename_to_cyrillic(runner) -> None:
    """Give the seeded newsletter LONG_NAME and a sender named SENDER_NAME, by the CLI."""
    sender = f"{SENDER_NAME} <{SENDER_ADDRESS}>"
    result = runner.invoke(
        args=["newsletters", "update", SLUG, "--name", LONG_NAME, "--sender", sender]
    )
    assert result.exit_code == 0, result.output
