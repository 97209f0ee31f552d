"""Every email the product sends, for a newsletter named in 120 characters in each language.

Made through the HTTP surface and the worker as a reader meets them: sign up from a long
article's page (the confirmation), confirm (the welcome), ask for the manage link; and a
second reader, who presses "Erase me" (the erasure notice). The editors' one email, the
signup-wave alert, is in English as the admin is (:func:`editor_emails`). The names are
the longest a newsroom is likely to give, English and Ukrainian (``--name-uk``), so that
what wraps, and what widens the card if it cannot, shows at a phone's width.
"""

from email.message import EmailMessage

from tests.admin_steps import EDITOR
from tests.admin_steps import create_editor
from tests.cyrillic_names import LONG_NAME
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import link_path

READER = "reader@example.com"
# Signs up, confirms and erases their data, after READER's emails.
LEAVING_READER = "leaving@example.com"
ENGLISH_LONG_NAME = (
    "Explaining Ukraine with Kate Tsurkan: a weekly letter about the war, culture and people. " * 2
)[:120].strip()
LONG_NAMES = {"en": ENGLISH_LONG_NAME, "uk": LONG_NAME}
DESCRIPTIONS = {
    "en": "Every Friday: what happened, and what it means for the people who live it.",
    "uk": "Щоп’ятниці: що сталося і що це означає для людей, які це проживають.",
}
# The article a reader signed up from, on the newsroom's English and Ukrainian sites: its
# URL is shown in the emails' footer.
ARTICLES = {
    "en": "https://www.example.org/news/2026/11/30/how-kyiv-keeps-the-lights-on-through-a-winter",
    "uk": "https://novyny.ua/2026/11/30/yak-kyiv-trymaie-svitlo-vzymku-pid-obstrilamy",
}


def name_in_both_languages(runner) -> None:
    """Give the seeded newsletter its long English name and description, and Ukrainian
    ones for its Ukrainian readers."""
    result = runner.invoke(
        args=[
            "newsletters", "update", SLUG,
            "--name", LONG_NAMES["en"], "--description", DESCRIPTIONS["en"],
            "--name-uk", LONG_NAMES["uk"], "--description-uk", DESCRIPTIONS["uk"],
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def every_email(client, runner, mailbox, language: str) -> dict[str, EmailMessage]:
    """The confirmation, the welcome, the manage link and the erasure notice, by kind, in
    ``language``."""
    name_in_both_languages(runner)
    confirm(client, runner, mailbox, READER, language)
    manage = client.get(f"/manage?lang={language}")
    client.post(
        f"/manage?lang={language}", data={"email": READER, "csrf_token": csrf_token(manage.text)}
    )
    deliver(runner)
    confirmation, welcome, manage_link = mailbox.messages
    leaving_welcome = confirm(client, runner, mailbox, LEAVING_READER, language)
    client.post(f"{link_path(leaving_welcome, '/manage/')}/erase?lang={language}")
    deliver(runner)
    return {
        "confirmation": confirmation,
        "welcome": welcome,
        "manage_link": manage_link,
        "erasure_notice": last_to(mailbox, LEAVING_READER),
    }


def confirm(client, runner, mailbox, address: str, language: str) -> EmailMessage:
    """Sign ``address`` up from the article's page and confirm: the welcome email."""
    page = client.get(f"/newsletters/{SLUG}?lang={language}")
    client.post(
        f"/newsletters/{SLUG}/subscribe?lang={language}",
        data={"email": address, "csrf_token": csrf_token(page.text)},
        headers={"Referer": ARTICLES[language]},
    )
    deliver(runner)
    client.post(link_path(last_to(mailbox, address), "/confirm/"))
    deliver(runner)
    return last_to(mailbox, address)


def last_to(mailbox, address: str) -> EmailMessage:
    """The latest email to ``address``."""
    return [message for message in mailbox.messages if message["To"] == address][-1]


def editor_emails(app, client, runner, mailbox) -> dict[str, EmailMessage]:
    """The signup-wave alert to an editor (any signup is a wave here), by kind."""
    name_in_both_languages(runner)
    assert create_editor(runner).exit_code == 0
    app.config.update(SIGNUP_WAVE_MIN_SIGNUPS=1)
    confirm(client, runner, mailbox, "wave@example.com", "uk")
    return {"signup_wave": last_to(mailbox, EDITOR)}
