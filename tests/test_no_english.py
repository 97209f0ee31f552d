"""Every page and email a Ukrainian reader meets keeps no English words of the catalogue.

A reader goes through it all in Ukrainian (``?lang=uk`` where a page is opened, the
signup's language in the emails): every form with and without its error, the thank-you
pages, the iframe, the confirm link in each state (ready, confirmed, replaced, renewed,
unsubscribed), the unsubscribe page and its outcome, the manage page, asking for the
manage link and its answer, 404, 410 and 429, and every email. What is shown on screen
must hold no English message of the catalogue of two words or more (placeholders and
tags cut out); the newsletter's own name and description are Ukrainian too.
"""

import re

import pytest
from babel.messages.pofile import read_po

from newsletter import languages
from tests.every_email import every_email
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import text_part

UK = "?lang=uk"


def english_pieces() -> list[str]:
    """The catalogue's English messages, as they read on screen: the text between
    placeholders and tags, two words or more."""
    with (languages.TRANSLATIONS / "messages.pot").open("rb") as pot:
        ids = [message.id for message in read_po(pot) if message.id]
    pieces = set()
    for msgid in ids:
        for text in (msgid,) if isinstance(msgid, str) else msgid:
            for piece in re.split(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}|<[^>]*>", text):
                words = " ".join(piece.split()).strip(' .,:;!?()"“”')
                if len(words.split()) >= 2:
                    pieces.add(words)
    return sorted(pieces)


ENGLISH = english_pieces()


def english_in(text: str) -> list[str]:
    words = " ".join(text.split())
    return [piece for piece in ENGLISH if piece in words]


@pytest.fixture
def settings(settings):
    # A second signup gets a new confirmation at once: the first link is then replaced.
    settings.update(CONFIRMATION_RESEND_INTERVAL=0, SIGNUP_RATE_LIMIT="50 per hour")
    return settings


def post_form(client, shown: str, action: str, **fields):
    """Open the page ``shown`` and send its form to ``action`` with its CSRF token."""
    page = client.get(shown)
    return client.post(action, data=fields | {"csrf_token": csrf_token(page.text)})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_ukrainian_reader_meets_no_english(app, client, runner, mailbox):
    emails = every_email(client, runner, mailbox, "uk")
    seen = {f"email {kind}": html_part(message) for kind, message in emails.items()}
    seen |= {f"email {kind} text": text_part(message) for kind, message in emails.items()}
    confirm = link_path(emails["confirmation"], "/confirm/")
    unsubscribe = link_path(emails["welcome"], "/unsubscribe/")
    manage = link_path(emails["welcome"], "/manage/")
    newsletter = f"/newsletters/{SLUG}"

    def page(name: str, path: str, method: str = "get", **fields) -> int:
        if method == "form":
            shown = path.replace("/subscribe?", "?") if path.startswith(newsletter) else path
            response = post_form(client, shown, path, **fields)
        else:
            response = getattr(client, method)(path, data=fields or None)
        if response.status_code in (302, 303):
            response = client.get(response.headers["Location"])
        assert response.headers["Content-Language"] == "uk", name
        seen[name] = response.text
        return response.status_code

    page("front page", f"/{UK}")
    page("newsletter page", f"{newsletter}{UK}")
    page("form with an error", f"{newsletter}/subscribe{UK}", "form", email="nope")
    page("several", f"/subscribe{UK}")
    page("several with an error", f"/subscribe{UK}", "form", email="nope")
    page("thank-you", f"{newsletter}/subscribe{UK}", "form", email="second@example.com")
    page("thank-you for several", f"/subscribe{UK}", "form", email="third@example.com",
         newsletters=SLUG)  # fmt: skip
    page("iframe", f"{newsletter}/embed{UK}")
    page("iframe thank-you", f"{newsletter}/embed/subscribed{UK}")
    page("confirmed", f"{confirm}{UK}")
    page("unsubscribe", f"{unsubscribe}{UK}")
    page("manage", f"{manage}{UK}")
    page("manage link asked", f"/manage{UK}")
    page("manage link sent", f"/manage/sent{UK}")
    assert page("not found", f"/nothing-here{UK}") == 404
    page("unsubscribed", f"{unsubscribe}{UK}", "post")
    page("confirm after unsubscribing", f"{confirm}{UK}")
    # Signed up again: the first round's confirm link is replaced (410, a way forward).
    page("thank-you again", f"{newsletter}/subscribe{UK}", "form", email="reader@example.com")
    runner.invoke(args=["worker", "--once"])
    again = link_path(mailbox.messages[-1], "/confirm/")
    assert again != confirm
    page("confirm ready", f"{again}{UK}")
    assert page("confirm replaced", f"{confirm}{UK}") == 410
    page("renewed", f"{confirm}/renew{UK}", "post")
    app.config["SIGNUP_RATE_LIMIT"] = "1 per hour"  # counted afresh from here
    page("thank-you", f"{newsletter}/subscribe{UK}", "form", email="early@example.com")
    assert page("too many", f"{newsletter}/subscribe{UK}", "form", email="late@example.com") == 429

    # The check itself finds the English of an English page.
    assert english_in(shown_text(client.get(f"{newsletter}?lang=en").text))
    left = {name: english_in(shown_text(html)) for name, html in seen.items()}
    assert {name: pieces for name, pieces in left.items() if pieces} == {}
