"""Every email a reader can get, in a language, for a newsletter with a 120-character name.

Made through the HTTP surface and the worker as a reader meets them: sign up from a long
article's page (the confirmation), confirm (the welcome), ask for the manage link. The
name is the longest a newsroom is likely to give (Cyrillic for ``uk``), so that what
wraps, and what widens the card if it cannot, shows at a phone's width.
"""

from email.message import EmailMessage

from tests.cyrillic_names import LONG_NAME
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import link_path

READER = "reader@example.com"
ENGLISH_LONG_NAME = (
    "Explaining Ukraine with Kate Tsurkan: a weekly letter about the war, culture and people. " * 2
)[:120].strip()
LONG_NAMES = {"en": ENGLISH_LONG_NAME, "uk": LONG_NAME}
DESCRIPTIONS = {
    "en": "Every Friday: what happened, and what it means for the people who live it.",
    "uk": "Щоп’ятниці: що сталося і що це означає для людей, які це проживають.",
}
# The article a reader signed up from, as the newsroom's site names it in each language:
# its URL is shown in the emails' footer.
ARTICLES = {
    "en": "https://www.example.org/news/2026/11/30/how-kyiv-keeps-the-lights-on-through-a-winter",
    "uk": "https://www.example.org/uk/2026/11/30/yak-kyiv-trymaie-svitlo-vzymku-pid-obstrilamy",
}


def every_email(client, runner, mailbox, language: str) -> dict[str, EmailMessage]:
    """The confirmation, the welcome and the manage link, by kind, in ``language``."""
    result = runner.invoke(
        args=[
            "newsletters",
            "update",
            SLUG,
            "--name",
            LONG_NAMES[language],
            "--description",
            DESCRIPTIONS[language],
        ]
    )
    assert result.exit_code == 0, result.output
    page = client.get(f"/newsletters/{SLUG}?lang={language}")
    client.post(
        f"/newsletters/{SLUG}/subscribe?lang={language}",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
        headers={"Referer": ARTICLES[language]},
    )
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    manage = client.get(f"/manage?lang={language}")
    client.post(
        f"/manage?lang={language}", data={"email": READER, "csrf_token": csrf_token(manage.text)}
    )
    deliver(runner)
    confirmation, welcome, manage_link = mailbox.messages
    return {"confirmation": confirmation, "welcome": welcome, "manage_link": manage_link}
