"""The signup forms and the iframe form's cookie-less CSRF token (their words: form_words).

A form for several newsletters adds their checkboxes (:class:`ChoosesNewsletters`).
"""

import functools

from babel import support
from flask import current_app
from flask import g
from flask import request
from flask_wtf import FlaskForm
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict
from wtforms import EmailField
from wtforms import Field
from wtforms import Form
from wtforms import HiddenField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms.csrf.core import CSRF
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from newsletter import addresses
from newsletter import languages
from newsletter.models import Newsletter
from newsletter.newsletters import MAX_SLUG_LENGTH
from newsletter.web import form_words

EMBED_FORM_SALT = "newsletter.embed-form"


class ValidAddress:
    """Validate with email-validator and leave the *normalised* address in the field."""

    def __call__(self, form: Form, field: Field) -> None:
        # A multipart body can make the field a file upload: that is no address either.
        raw = field.data if isinstance(field.data, str) else ""
        try:
            field.data = normalized(raw)
        except addresses.InvalidAddress as error:
            raise ValidationError(form_words.current().invalid_email) from error


def normalized(raw: str) -> str:
    """The address as we keep it, or :class:`~newsletter.addresses.InvalidAddress`."""
    return addresses.normalize(raw, check_deliverability=current_app.config["CHECK_DELIVERABILITY"])


class SignupFields(Form):
    """What every signup surface asks: an address, and a honeypot people never see."""

    email = EmailField("Email", validators=[ValidAddress()])
    # Hidden off-screen from people; a bot that fills it gets a success it can't tell
    # from a real one, and nothing is stored.
    website = StringField()

    def filled_by_bot(self) -> bool:
        """Whether the field people never see was filled in."""
        return bool(self.website.data)


class CatalogueOnce(FlaskForm):
    """Flask-WTF, with WTForms' own messages read from their catalogue once per language
    (Flask-WTF reads the file again on every request)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(languages.current())


@functools.cache
def _wtforms_catalogue(language: str) -> support.NullTranslations:
    """WTForms' messages in ``language`` (Flask-WTF's own choice of catalogue, kept)."""
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class SignupForm(SignupFields, CatalogueOnce):
    """The form on our own pages, protected by Flask-WTF's session CSRF token."""


def plain_fields() -> MultiDict | None:
    """A form POST's fields when WTForms could only say what the address and the
    checkboxes say: a form body without files (what ``FlaskForm`` reads then), a CSRF
    token CSRFProtect has already accepted (the form's own check would pass on that), and
    an empty honeypot. None otherwise, and the form decides.

    Lets a valid signup skip building the form (most of its CPU); anything the form would
    refuse or treat apart is still the form's to answer, with its words.
    """
    if request.files or not request.form:
        return None
    if current_app.config.get("WTF_CSRF_ENABLED", True) and not g.get("csrf_valid", False):
        return None
    if request.form.get("website"):
        return None
    return request.form


class ChosenAmongOffered:
    """At least one newsletter, each among those the form offers; leaves them, in the
    listing order, in the form's ``chosen``."""

    def __call__(self, form: "ChoosesNewsletters", field: Field) -> None:
        form.chosen = chosen_among(form.offered, form.not_offered, field.data or [])


def chosen_among(
    offered: list[Newsletter], not_offered: str | None, given: list[str]
) -> list[Newsletter]:
    """The ``offered`` newsletters ``given`` names, in the listing order; a
    ValidationError unless there is at least one and each is offered (``not_offered``
    is a name from the form's URL that is none)."""
    if not_offered is not None:
        given = [not_offered]
    if not given:
        raise ValidationError(form_words.current().choose_one)
    slugs = {newsletter.slug for newsletter in offered}
    for slug in given:
        if slug not in slugs:
            named = slug[: MAX_SLUG_LENGTH + 1]  # enough to recognise, not an echo chamber
            raise ValidationError(form_words.current().unknown_newsletter.format(slug=named))
    return [newsletter for newsletter in offered if newsletter.slug in given]


class ChoosesNewsletters:
    """A form's checkboxes for the newsletters it offers (set ``offered`` before validating).

    Without a checkbox ticked the form says "Choose at least one newsletter"; a slug it
    does not offer is named in its error.
    """

    newsletters = SelectMultipleField(validate_choice=False, validators=[ChosenAmongOffered()])
    offered: list[Newsletter] = []
    not_offered: str | None = None  # a name the form's URL gave that is no newsletter
    chosen: list[Newsletter] = []

    def offering(self, offered: list[Newsletter], not_offered: str | None = None):
        """This form, offering ``offered``; ``not_offered``, if given, is refused by name."""
        self.offered = offered
        self.not_offered = not_offered
        return self

    def is_ticked(self, newsletter: Newsletter) -> bool:
        """Whether the newsletter's checkbox shows ticked: as sent, or, on a fresh form,
        when it is the only one offered."""
        if self.newsletters.data is None:
            return len(self.offered) == 1
        return newsletter.slug in self.newsletters.data


class SeveralSignupFields(ChoosesNewsletters, SignupFields):
    """The JSON API's signup to several newsletters."""


class SeveralSignupForm(SeveralSignupFields, CatalogueOnce):
    """Our own page's form for several newsletters."""


class SignedFormToken(CSRF):
    """CSRF for the iframe form that needs no cookie (third-party cookies may be blocked).

    The token is signed with the app's key, names the newsletter the form was rendered
    for, and expires after ``EMBED_FORM_MAX_AGE`` seconds. It proves the form was served
    by us for this newsletter; the Fetch-Metadata check on the POST proves the request
    came from our frame, not another site.
    """

    def setup_form(self, form: Form):
        self.newsletter_slug = form.meta.csrf_context
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: Field) -> str:
        return self._serializer().dumps(self.newsletter_slug)

    def validate_csrf_token(self, form: Form, field: Field) -> None:
        max_age = current_app.config["EMBED_FORM_MAX_AGE"]
        try:
            slug = self._serializer().loads(field.data or "", max_age=max_age)
        except BadData as error:
            raise ValidationError(form_words.current().expired) from error
        if slug != self.newsletter_slug:
            raise ValidationError(form_words.current().expired)

    @staticmethod
    def _serializer() -> URLSafeTimedSerializer:
        """Signs with the app's key, salted for this one purpose."""
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=EMBED_FORM_SALT)


class EmbedSignupForm(SignupFields):
    """The compact form inside an iframe on another site: no session, no cookie."""

    # The embedding page, as the browser told us when it loaded the frame.
    source_url = HiddenField()

    class Meta:
        csrf = True
        csrf_class = SignedFormToken
        csrf_field_name = "form_token"


class EmbedSeveralSignupForm(SeveralSignupFields, EmbedSignupForm):
    """The iframe form for several newsletters; its token names the set it offers."""
