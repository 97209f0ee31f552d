"""A newsletter named and described per language: every surface a reader meets shows the
name (and description) of the reader's language, and the newsletter's own where an editor
gave none for it. Set by the command line here; the admin form is tested at its end."""

import pytest

from newsletter import newsletters
from newsletter.db import database
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import html_part
from tests.reader import link_path
from tests.reader import shown_text
from tests.reader import text_part
from tests.several import BRIEFING
from tests.several import add_newsletters

NAME = "Explaining Ukraine with Kate Tsurkan"
DESCRIPTION = newsletters.DEFAULT_NEWSLETTER["description"]
UK_NAME = "Пояснюючи Україну з Кейт Цуркан"
UK_DESCRIPTION = "Щотижневий лист про війну, політику й людей України — для читачів усього світу."
BRIEFING_NAME = "The Daily Briefing"
UK_BRIEFING_NAME = "Ранковий брифінг"
READER = "reader@example.com"
FROM_OUR_FRAME = {"Sec-Fetch-Site": "same-origin"}
# What each language's reader is shown: the Ukrainian texts given, the newsletter's own
# name and description in English (no English text given: the fallback).
SHOWN = {
    "uk": (UK_NAME, UK_DESCRIPTION, UK_BRIEFING_NAME),
    "en": (NAME, DESCRIPTION, BRIEFING_NAME),
}


def name_in_ukrainian(runner, slug: str, *options: str) -> None:
    result = runner.invoke(args=["newsletters", "update", slug, *options])
    assert result.exit_code == 0, result.output


@pytest.fixture
def named(app, runner):
    """The seeded newsletter and the briefing, each with a Ukrainian name; the seeded one
    with a Ukrainian description too."""
    add_newsletters(app)
    name_in_ukrainian(runner, SLUG, "--name-uk", UK_NAME, "--description-uk", UK_DESCRIPTION)
    name_in_ukrainian(runner, BRIEFING, "--name-uk", UK_BRIEFING_NAME)


def words(response) -> str:
    assert response.status_code == 200, response.status_code
    return shown_text(response.text)


def follow(client, response) -> str:
    assert response.status_code == 303, response.text
    return words(client.get(response.headers["Location"]))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["uk", "en"])
def test_pages_forms_and_the_iframe_name_it_in_the_readers_language(client, named, language):
    name, description, briefing = SHOWN[language]
    lang = f"lang={language}"
    for path in (f"/newsletters/{SLUG}", f"/newsletters/{SLUG}/embed"):
        shown = words(client.get(f"{path}?{lang}"))
        assert name in shown and description in shown, path
        assert (UK_NAME in shown) == (language == "uk"), path
    # The forms offering several: a checkbox labelled with each name.
    several = f"newsletters={SLUG},{BRIEFING}"
    for path in ("/", f"/subscribe?{several}", f"/embed?{several}"):
        shown = words(client.get(f"{path}{'&' if '?' in path else '?'}{lang}"))
        assert name in shown and briefing in shown and description in shown, path
        assert (NAME in shown) == (language == "en"), path

    page = client.get(f"/newsletters/{SLUG}?{lang}")
    thanks = client.post(
        f"/newsletters/{SLUG}/subscribe?{lang}",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
    )
    assert name in follow(client, thanks)
    form = client.get(f"/subscribe?{several}&{lang}")
    thanks = client.post(
        f"/subscribe?{several}&{lang}",
        data={
            "email": READER,
            "newsletters": [SLUG, BRIEFING],
            "csrf_token": csrf_token(form.text),
        },
    )
    shown = follow(client, thanks)
    assert name in shown and briefing in shown
    frame = client.get(f"/embed?{several}&{lang}")
    thanks = client.post(
        f"/embed?{several}&{lang}",
        data={"email": READER, "newsletters": [BRIEFING], "form_token": csrf_token_of(frame.text)},
        headers=FROM_OUR_FRAME,
    )
    assert briefing in follow(client, thanks)


def csrf_token_of(html: str) -> str:
    """The iframe's forms carry their token as ``form_token``."""
    return csrf_token(html.replace('name="form_token"', 'name="csrf_token"'))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_api_and_so_the_script_embed_name_it_in_the_asked_language(client, named, language):
    name, description, briefing = SHOWN[language]
    face = client.get(f"/api/v1/newsletters/{SLUG}?lang={language}").json
    assert (face["name"], face["description"]) == (name, description)
    faces = client.get(f"/api/v1/newsletters?newsletters={SLUG},{BRIEFING}&lang={language}").json
    assert [face["name"] for face in faces["newsletters"]] == [name, briefing]
    asked = client.get(f"/api/v1/newsletters/{SLUG}", headers={"Accept-Language": language})
    assert asked.json["name"] == name


@pytest.mark.parametrize("language", ["uk", "en"])
def test_every_email_and_link_page_names_it_in_the_readers_language(
    client, runner, mailbox, named, language
):
    name, description, _ = SHOWN[language]
    lang = f"lang={language}"
    page = client.get(f"/newsletters/{SLUG}?{lang}")
    client.post(
        f"/newsletters/{SLUG}/subscribe?{lang}",
        data={"email": READER, "csrf_token": csrf_token(page.text)},
    )
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    confirmation, welcome = mailbox.messages
    assert name in str(confirmation["Subject"]) and name in str(welcome["Subject"])
    for message in (confirmation, welcome):
        for part in (shown_text(html_part(message)), " ".join(text_part(message).split())):
            assert name in part and (NAME in part) == (language == "en"), message["Subject"]
    assert description in " ".join(text_part(welcome).split())

    manage = link_path(welcome, "/manage/")
    shown = words(client.get(f"{manage}?{lang}"))
    assert name in shown and description in shown
    left = client.post(f"{manage}?{lang}", data={"action": "leave", "newsletter": SLUG})
    assert name in follow(client, left)
    unsubscribe = link_path(welcome, "/unsubscribe/")
    assert name in words(client.get(f"{unsubscribe}?{lang}"))
    assert name in words(client.post(f"{unsubscribe}?{lang}"))
    assert name in words(client.get(f"{manage}/erase?{lang}"))


def test_a_language_without_its_own_name_shows_the_newsletters(app, client, runner, mailbox):
    """The briefing has no Ukrainian description, the digest no Ukrainian text at all; a
    Ukrainian text cleared with '' is gone too."""
    add_newsletters(app)
    name_in_ukrainian(runner, BRIEFING, "--name-uk", UK_BRIEFING_NAME)
    shown = words(client.get(f"/newsletters/{BRIEFING}?lang=uk"))
    assert UK_BRIEFING_NAME in shown and "The morning's news in five minutes." in shown
    assert "The Weekly Digest" in words(client.get("/newsletters/weekly-digest?lang=uk"))

    name_in_ukrainian(runner, BRIEFING, "--name-uk", "")
    shown = words(client.get(f"/newsletters/{BRIEFING}?lang=uk"))
    assert BRIEFING_NAME in shown and UK_BRIEFING_NAME not in shown
    with app.app_context(), database(app).transaction() as session:
        assert newsletters.get_by_slug(session, BRIEFING).texts == {}


def test_a_newsletter_is_created_with_its_names(app, client, runner):
    result = runner.invoke(
        args=[
            "newsletters", "create", "--slug", "culture", "--name", "Culture",
            "--name-uk", "Культура", "--description-uk", "Книжки, кіно, музика.",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = words(client.get("/newsletters/culture?lang=uk"))
    assert "Культура" in shown and "Книжки, кіно, музика." in shown
    assert "Культура" not in words(client.get("/newsletters/culture?lang=en"))


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (["--name-uk", "я" * 201], "a name in uk is 1 to 200 characters"),
        (["--name-uk", "Пояснюючи\x07Україну"], "a name in uk cannot contain control characters"),
    ],
)
def test_a_name_in_a_language_is_checked_as_the_name_is(runner, options, refusal):
    result = runner.invoke(args=["newsletters", "update", SLUG, *options])
    assert result.exit_code != 0 and refusal in result.output


def test_the_admin_names_it_by_its_own_name(app, client, runner, named):
    """The admin stays English: its pages name the newsletter as it is."""
    editor = signed_in_client(app, runner)
    dashboard = words(editor.get("/admin/"))
    assert NAME in dashboard and UK_NAME not in dashboard


def test_the_admin_form_sets_and_clears_the_names_per_language(app, client, runner):
    editor = signed_in_client(app, runner)
    form = editor.get(f"/admin/newsletters/{SLUG}/edit")
    assert "Name in Ukrainian" in form.text and "Description in English" in form.text
    fields = {
        "name": NAME,
        "description": DESCRIPTION,
        "language": "en",
        "position": "0",
        "public": "y",
        "name_uk": UK_NAME,
        "description_uk": UK_DESCRIPTION,
        "csrf_token": page_csrf_token(form.text),
    }
    saved = editor.post(f"/admin/newsletters/{SLUG}/edit", data=fields)
    assert saved.status_code == 303, saved.text
    shown = words(client.get(f"/newsletters/{SLUG}?lang=uk"))
    assert UK_NAME in shown and UK_DESCRIPTION in shown
    form = editor.get(f"/admin/newsletters/{SLUG}/edit")
    assert f'value="{UK_NAME}"' in form.text

    cleared = editor.post(
        f"/admin/newsletters/{SLUG}/edit",
        data=fields
        | {"name_uk": "", "description_uk": "", "csrf_token": page_csrf_token(form.text)},
    )
    assert cleared.status_code == 303, cleared.text
    shown = words(client.get(f"/newsletters/{SLUG}?lang=uk"))
    assert NAME in shown and UK_NAME not in shown
