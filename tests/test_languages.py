"""The reader's language: how a request picks it (each step wins over the next), that
it is kept through a signup, stored on the subscription, and used by every email to it;
and that a Ukrainian page or email keeps no English sentence of the catalogue."""

import re

import pytest
from babel.messages.pofile import read_po

from newsletter import languages
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import subscriptions
from tests.reader import text_part

READER = "reader@example.com"
UKRAINIAN_SUBSCRIBE = "Підписатися"


def english_sentences() -> list[str]:
    """The catalogue's English messages of more than three words, as they read on screen
    (placeholders and tags cut out: what is left between them must not remain)."""
    with (languages.TRANSLATIONS / "messages.pot").open("rb") as pot:
        ids = [message.id for message in read_po(pot) if message.id]
    pieces = []
    for msgid in ids:
        text = msgid if isinstance(msgid, str) else msgid[0]
        for piece in re.split(r"%\([a-z_]+\)s|\{[a-z_]+\}|<[^>]*>", text):
            if len(piece.split()) > 3:
                pieces.append(" ".join(piece.split()))
    return pieces


def assert_ukrainian(text: str) -> None:
    """No English sentence of the catalogue is left in ``text``."""
    words = " ".join(text.split())
    assert [sentence for sentence in english_sentences() if sentence in words] == []


def test_without_any_choice_pages_are_english(client):
    page = client.get(f"/newsletters/{SLUG}")
    assert page.headers["Content-Language"] == "en"
    assert '<html lang="en">' in page.text
    assert ">Subscribe<" in page.text


def test_accept_language_picks_ukrainian(client):
    page = client.get(
        f"/newsletters/{SLUG}", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"}
    )
    assert page.headers["Content-Language"] == "uk"
    assert '<html lang="uk">' in page.text
    assert UKRAINIAN_SUBSCRIBE in page.text


def test_lang_parameter_wins_over_accept_language(client):
    page = client.get(f"/newsletters/{SLUG}?lang=en", headers={"Accept-Language": "uk"})
    assert page.headers["Content-Language"] == "en"
    page = client.get(f"/newsletters/{SLUG}?lang=uk", headers={"Accept-Language": "en"})
    assert page.headers["Content-Language"] == "uk"


def test_an_unknown_lang_parameter_is_ignored(client):
    page = client.get(f"/newsletters/{SLUG}?lang=xx", headers={"Accept-Language": "uk"})
    assert page.headers["Content-Language"] == "uk"


def test_accept_language_wins_over_the_newsletters_default(client, runner):
    result = runner.invoke(args=["newsletters", "update", SLUG, "--language", "uk"])
    assert result.exit_code == 0, result.output
    assert client.get(f"/newsletters/{SLUG}").headers["Content-Language"] == "uk"
    english = client.get(f"/newsletters/{SLUG}", headers={"Accept-Language": "en-GB"})
    assert english.headers["Content-Language"] == "en"


def test_a_newsletters_default_language_is_one_we_have(runner):
    result = runner.invoke(args=["newsletters", "update", SLUG, "--language", "de"])
    assert result.exit_code != 0


def test_the_api_body_lang_wins_over_accept_language(client):
    answer = client.post(
        f"/api/v1/newsletters/{SLUG}/subscriptions",
        json={"email": "not an address", "lang": "uk"},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 422
    assert answer.headers["Content-Language"] == "uk"
    assert answer.json["errors"]["email"] == ["Будь ласка, введіть правильну електронну адресу"]


def test_the_apis_words_for_embed_js_follow_lang(client):
    face = client.get(f"/api/v1/newsletters/{SLUG}?lang=uk").json
    assert face["form"]["button"] == UKRAINIAN_SUBSCRIBE
    several = client.get("/api/v1/newsletters?lang=uk").json
    assert several["form"]["newsletters"] == "Оберіть розсилки"


def test_lang_is_kept_through_the_form_and_its_thank_you_page(client):
    page = client.get(f"/newsletters/{SLUG}?lang=uk")
    assert f'action="/newsletters/{SLUG}/subscribe?lang=uk"' in page.text
    sent = client.post(
        f"/newsletters/{SLUG}/subscribe?lang=uk",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
    )
    assert sent.status_code == 303
    assert "lang=uk" in sent.headers["Location"]
    thanks = client.get(sent.headers["Location"])
    assert thanks.headers["Content-Language"] == "uk"
    assert "Дякуємо за підписку! Ми надіслали лист для підтвердження на r***@example.com." in (
        shown_text(thanks.text)
    )
    assert_ukrainian(shown_text(thanks.text))


def test_the_iframe_keeps_lang_through_its_form(client):
    frame = client.get(f"/newsletters/{SLUG}/embed?lang=uk")
    assert '<html lang="uk"' in frame.text
    assert f'action="/newsletters/{SLUG}/embed?lang=uk"' in frame.text
    assert_ukrainian(shown_text(frame.text))


def sign_up_in_ukrainian(client) -> None:
    """Sign up on the page opened with ``?lang=uk``."""
    page = client.get(f"/newsletters/{SLUG}?lang=uk")
    client.post(
        f"/newsletters/{SLUG}/subscribe?lang=uk",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
    )


def test_every_email_to_a_ukrainian_signup_is_ukrainian(app, client, runner, mailbox):
    sign_up_in_ukrainian(client)
    deliver(runner)
    assert [subscription.language for subscription in subscriptions(app)] == ["uk"]
    # Confirming from an English browser changes nothing: the signup's language stays.
    client.post(link_path(mailbox.messages[0], "/confirm/"), headers={"Accept-Language": "en"})
    deliver(runner)
    manage = client.get("/manage", headers={"Accept-Language": "en"})
    client.post("/manage", data={"email": READER, "csrf_token": csrf_token(manage.text)})
    deliver(runner)
    confirmation, welcome, manage_link = mailbox.messages
    assert confirmation["Subject"].startswith("Підтвердьте підписку на ")
    assert welcome["Subject"].startswith("Вітаємо серед читачів")
    assert manage_link["Subject"] == "Ваші підписки"
    for message in (confirmation, welcome, manage_link):
        assert '<html lang="uk">' in html_part(message)
        assert_ukrainian(text_part(message))
        assert_ukrainian(shown_text(html_part(message)))
    assert "Посилання діє 7 днів." in text_part(confirmation)


def test_an_english_signup_gets_english_email(app, client, runner, mailbox):
    page = client.get(f"/newsletters/{SLUG}")
    client.post(
        f"/newsletters/{SLUG}/subscribe",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
        headers={"Accept-Language": "en"},
    )
    deliver(runner)
    [confirmation] = mailbox.messages
    assert confirmation["Subject"].startswith("Confirm your subscription to ")
    assert '<html lang="en">' in html_part(confirmation)
    assert "The link works for 7 days." in text_part(confirmation)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        f"/newsletters/{SLUG}",
        "/subscribe",
        f"/newsletters/{SLUG}/subscribed",
        "/subscribed",
        f"/newsletters/{SLUG}/embed",
        f"/newsletters/{SLUG}/embed/subscribed",
        "/manage",
        "/confirm/not-a-token",
        "/unsubscribe/not-a-token",
        "/nothing-here",
    ],
)
def test_reader_pages_in_ukrainian_keep_no_english(client, path):
    page = client.get(path, headers={"Accept-Language": "uk"})
    assert page.headers["Content-Language"] == "uk"
    assert 'lang="uk"' in page.text
    assert_ukrainian(shown_text(page.text))
