"""Every word of the signup form, in one place.

Our pages and the iframe call ``form_words()`` in their templates; form validation raises
them; the JSON API answers with them, and hands them all to ``embed.js`` in
``GET /api/v1/newsletters/<slug>`` (the script keeps no word of its own). So a changed
word, or a translation, reaches every surface at once. :func:`current` gives them in the
request's language (see ``newsletter.languages``), built once per language and app: the
catalogue does not change while the app runs, and the words are asked for several times
on every signup.
"""

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Flask
from flask import current_app
from flask import has_app_context
from flask_babel import gettext as _

from newsletter import languages


def _word(description: str) -> Any:
    """A field of :class:`FormWords`, described for the OpenAPI document."""
    return field(metadata={"description": description})


@dataclass(frozen=True)
class FormWords:
    """The form's words; the API's ``form`` object has exactly these keys."""

    legend: str = _word("After the red star that marks the required field")
    label: str = _word("The email field's label")
    button: str = _word("The submit button")
    honeypot: str = _word("The label of the field people never see (leave it empty)")
    thanks_title: str = _word("The heading of the success message")
    thanks: str = _word(
        "The success message when the address is not known (the 202 answer's message)"
    )
    sent_to: str = _word(
        "The success message naming the address: {address} is the 202 answer's sent_to"
    )
    open_webmail: str = _word("The link to the reader's webmail: {name} is webmail.name")
    newsletters: str = _word("The legend of a form's newsletter checkboxes")
    thanks_several: str = _word(
        "The success message of a signup to several newsletters when the address is not known"
    )
    sent_to_several: str = _word(
        "The success message of a signup to several newsletters naming the address: "
        "{address} is the 202 answer's sent_to"
    )
    next_steps: str = _word("After the success message in a frame: what to do now")
    invalid_email: str = _word("Next to the field when the address is not valid")
    choose_one: str = _word("When a form with several newsletters is sent with none chosen")
    unknown_newsletter: str = _word(
        "When a signup names a newsletter that is not offered: {slug} is the name it gave"
    )
    failed: str = _word("When the signup request fails on its way")
    expired: str = _word("When a page's or iframe's form was kept open too long")


def current() -> FormWords:
    """The words in the reader's language (in English outside an app)."""
    if not has_app_context():
        return _translated()
    built = current_app.extensions.setdefault("form_words", {})
    language = languages.current()
    words = built.get(language)
    if words is None:
        words = built[language] = _translated()
    return words


def _translated() -> FormWords:
    """The words, translated into the language being rendered now."""
    return FormWords(
        legend=_("indicates required"),
        label=_("Enter your email to subscribe"),
        button=_("Subscribe"),
        honeypot=_("Leave this field empty"),
        thanks_title=_("Successfully subscribed"),
        thanks=_(
            "Thank you for signing up for this newsletter. We've sent you a confirmation email."
        ),
        sent_to=_(
            "Thank you for signing up for this newsletter. "
            "We've sent a confirmation email to {address}."
        ),
        open_webmail=_("Open {name}"),
        newsletters=_("Choose your newsletters"),
        thanks_several=_(
            "Thank you for signing up for these newsletters. "
            "We've sent you one confirmation email for all of them."
        ),
        sent_to_several=_(
            "Thank you for signing up for these newsletters. "
            "We've sent one confirmation email for all of them to {address}."
        ),
        next_steps=_(
            "Open the email and press its button to confirm. "
            "Nothing there in a few minutes? Look in your spam folder."
        ),
        invalid_email=_("Please, enter correct email address"),
        choose_one=_("Choose at least one newsletter"),
        unknown_newsletter=_("There is no newsletter called {slug}"),
        failed=_("Sorry, something went wrong. Please try again."),
        expired=_("This form has expired. Please submit it again."),
    )


def as_json() -> dict[str, str]:
    """The words as the API sends them."""
    return asdict(current())


def init_app(app: Flask) -> None:
    """Let every template, imported macros included, call ``form_words()``."""
    app.add_template_global(current, name="form_words")
