"""The reader's language: English (``en``, the words of the source) or Ukrainian (``uk``).

A request's language, first found wins (SPEC, "Languages"):

1. ``?lang=uk`` in the URL (pages, the iframe; ``embed.js`` adds it to its GET calls);
2. ``"lang": "uk"`` in a JSON body (the API; ``embed.js`` sends its ``data-lang``);
3. ``Accept-Language``, the best match among the languages we have;
4. the newsletter's default language, on a URL that names one;
5. English.

A ``?lang=`` the reader chose is kept on every link and form action the page builds with
``url_for``, so it survives the form's POST and the redirect to the thank-you page. Mail
has no request: it is rendered in the language stored on the subscription, with
:func:`rendered_in`. A newsletter's name and description are shown in that language too,
where an editor gave them (:func:`shown_name`, :func:`shown_description`). The admin stays
in English. The catalogue is ``newsletter/translations`` (see README, "Languages"); its
``.mo`` files are compiled from the ``.po`` files at install (``make``, or the wheel's
build hook), never committed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask import Response
from flask import has_request_context
from flask import request
from flask_babel import Babel
from flask_babel import force_locale
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

from newsletter.models import Newsletter

ENGLISH = "en"
LANGUAGES = (ENGLISH, "uk")
# What the admin and the command line (both in English) call each language.
LANGUAGE_NAMES = {ENGLISH: "English", "uk": "Ukrainian"}
TRANSLATIONS = Path(__file__).parent / "translations"
# Endpoints whose pages and links are not the reader's: no chosen language to carry.
NOT_READERS = ("static", "admin.")


def init_app(app: Flask) -> None:
    """Pick each request's language; say it in ``Content-Language``; keep ``?lang=``."""
    Babel(
        app,
        default_locale=ENGLISH,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=_selected,
    )
    app.add_template_global(current, name="language")
    app.add_template_filter(shown_name)
    app.add_template_filter(shown_description)
    app.url_defaults(_keep_chosen_language)
    app.after_request(_content_language)


def current() -> str:
    """The language of what is being rendered now (a request's, or a forced one)."""
    locale = get_locale()
    return locale.language if locale is not None else ENGLISH


def shown_name(newsletter: Newsletter) -> str:
    """A newsletter's name as readers of the language being rendered call it (its name
    in that language if an editor gave one, else its own): ``{{ newsletter|shown_name }}``."""
    return newsletter.name_in(current())


def shown_description(newsletter: Newsletter) -> str:
    """A newsletter's description in the language being rendered, else its own."""
    return newsletter.description_in(current())


def supported(language: Any) -> str | None:
    """``language`` if it is one we have, else None."""
    return language if language in LANGUAGES else None


@contextmanager
def rendered_in(language: str) -> Iterator[None]:
    """Render (mail) in ``language``, whatever the request's, if any, is."""
    with force_locale(supported(language) or ENGLISH):
        yield


def _selected() -> str:
    """The request's language, in the order of the module's docstring."""
    if not has_request_context():
        return ENGLISH
    chosen = _chosen()
    if chosen is not None:
        return chosen
    accepted = request.accept_languages.best_match(LANGUAGES)
    if accepted is not None:
        return accepted
    newsletter = (request.view_args or {}).get("newsletter")
    return getattr(newsletter, "language", None) or ENGLISH


def _chosen() -> str | None:
    """The language the reader (or the page's embed) asked for by name, if we have it."""
    return supported(request.args.get("lang")) or supported(_body().get("lang"))


def _body() -> dict:
    """The request's JSON object, if it has one that can be read.

    The error page of a body refused for its size or shape (see ``web.bodies``) is in a
    language too: reading that body again would fail again, so it names none.
    """
    if not request.is_json:
        return {}
    try:
        body = request.get_json(silent=True)
    except (HTTPException, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _keep_chosen_language(endpoint: str, values: dict[str, Any]) -> None:
    """Links and form actions of a page opened with ``?lang=`` keep it."""
    if not has_request_context() or endpoint.startswith(NOT_READERS):
        return
    asked = supported(request.args.get("lang"))
    if asked is not None:
        values.setdefault("lang", asked)


def _content_language(response: Response) -> Response:
    """Every answer says its language (the admin's is English)."""
    admin = (request.blueprint or "").startswith("admin")
    response.headers["Content-Language"] = ENGLISH if admin else current()
    return response
