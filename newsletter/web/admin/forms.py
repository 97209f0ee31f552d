"""The editors' forms: a newsletter's settings, an import's upload, and the subscriber
list's filters.

Field checks reuse the domain's rules (:mod:`newsletter.newsletters`) so that an error
can be shown next to its field; the domain still checks everything again when saving.
"""

from collections.abc import Callable

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField
from wtforms import Field
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from newsletter import import_formats
from newsletter import import_jobs
from newsletter import languages
from newsletter import newsletters
from newsletter.list_management import MAX_QUERY_LENGTH
from newsletter.models import SENDER_LENGTH
from newsletter.models import URL_LENGTH
from newsletter.models import Newsletter
from newsletter.models import SubscriptionStatus
from newsletter.web.errors import Refused

MAX_DESCRIPTION_LENGTH = 5000
# Larger than any real page id; PostgreSQL's BIGINT would refuse more.
MAX_CURSOR = 2**62


def sentence(message: str) -> str:
    """A domain message (lower-case, for composing) as a sentence for a page."""
    message = message.strip()
    return f"{message[:1].upper()}{message[1:]}{'' if message.endswith('.') else '.'}"


def at_most(characters: int) -> Length:
    """A length limit that says so in plain words."""
    return Length(max=characters, message="At most %(max)d characters.")


def origin_lines(text: str | None) -> list[str]:
    """The origins in a textarea, one a line, blank lines ignored."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class NewsletterForm(FlaskForm):
    """What an editor may change about a newsletter."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the newsletter a name."),
            at_most(newsletters.MAX_NAME_LENGTH),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[at_most(MAX_DESCRIPTION_LENGTH)],
    )
    allowed_origins = TextAreaField("Sites that may embed the form")
    sender = StringField("Sender", validators=[at_most(SENDER_LENGTH)])
    public = BooleanField("Listed publicly", default=True)
    language = SelectField(
        "Default language", choices=list(languages.LANGUAGES), default=languages.ENGLISH
    )
    accent_color = StringField("Accent colour", validators=[at_most(7)])
    logo_url = StringField("Logo", validators=[at_most(URL_LENGTH)])
    position = IntegerField(
        "Position",
        default=0,
        validators=[
            InputRequired("Give a position, such as 0."),
            NumberRange(
                0,
                newsletters.MAX_POSITION,
                f"A whole number from 0 to {newsletters.MAX_POSITION}.",
            ),
        ],
    )

    def validate_sender(self, field: Field) -> None:
        """A From header such as: Kate Tsurkan <kate@example.com> (or empty)."""
        try:
            newsletters.normalize_sender(field.data or "")
        except newsletters.InvalidNewsletter as error:
            raise ValidationError(sentence(str(error))) from error

    def validate_accent_color(self, field: Field) -> None:
        """#rrggbb that white text can be read on (or empty)."""
        _checked_by(newsletters.checked_accent, field)

    def validate_logo_url(self, field: Field) -> None:
        """An https:// image URL (or empty)."""
        _checked_by(newsletters.checked_logo, field)

    def validate_allowed_origins(self, field: Field) -> None:
        """Each line must be a bare origin such as https://news.example.org."""
        try:
            newsletters.normalize_origins(origin_lines(field.data))
        except newsletters.InvalidNewsletter as error:
            raise ValidationError(sentence(str(error))) from error


def _add_text_fields(form: type[NewsletterForm]) -> None:
    """A name and a description in each language readers can have: empty, a reader in
    that language sees the newsletter's own."""
    for language in languages.LANGUAGES:
        in_language = f"in {languages.LANGUAGE_NAMES[language]}"
        name = StringField(f"Name {in_language}", validators=[at_most(newsletters.MAX_NAME_LENGTH)])
        description = TextAreaField(
            f"Description {in_language}", validators=[at_most(MAX_DESCRIPTION_LENGTH)]
        )
        setattr(form, f"name_{language}", name)
        setattr(form, f"description_{language}", description)


_add_text_fields(NewsletterForm)


def text_data(newsletter: Newsletter) -> dict[str, str]:
    """The newsletter's texts per language, as the form's fields hold them."""
    data = {}
    for language in languages.LANGUAGES:
        text = newsletter.texts.get(language)
        data[f"name_{language}"] = text.name if text else ""
        data[f"description_{language}"] = text.description if text else ""
    return data


def texts_given(form: NewsletterForm) -> dict[str, dict[str, str]]:
    """What the form says of the texts per language, as ``newsletters.update`` takes
    them: ``{"names": {"uk": …}, "descriptions": {"uk": …}}`` (empty clears one)."""
    return {
        f"{field}s": {
            language: form[f"{field}_{language}"].data or "" for language in languages.LANGUAGES
        }
        for field in ("name", "description")
    }


def _checked_by(check: Callable[[str], str], field: Field) -> None:
    """The domain's check of a field, its refusal as the field's error."""
    try:
        check(field.data or "")
    except newsletters.InvalidNewsletter as error:
        raise ValidationError(sentence(str(error))) from error


class NewNewsletterForm(NewsletterForm):
    """A new newsletter also needs its slug, which stays fixed afterwards (it is in URLs)."""

    slug = StringField(
        "Slug",
        validators=[
            DataRequired("Give the newsletter a slug."),
            at_most(newsletters.MAX_SLUG_LENGTH),
            Regexp(
                f"^(?:{newsletters.SLUG_PATTERN.pattern})$",
                message="Use lower-case letters, digits and single hyphens, "
                "such as explaining-ukraine.",
            ),
        ],
    )


class ImportForm(FlaskForm):
    """A file to import into a newsletter, with the options ``newsletter import`` takes."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])
    dry_run = BooleanField("Dry run: show what would happen, change nothing")
    email_column = StringField("Address column", validators=[at_most(import_jobs.COLUMN_LENGTH)])
    status_column = StringField("Status column", validators=[at_most(import_jobs.COLUMN_LENGTH)])
    status_map = StringField("Status map", validators=[at_most(MAX_DESCRIPTION_LENGTH)])
    language = SelectField(
        "Language of their mail",
        choices=[
            SelectChoice("", "The file’s, else the newsletter’s"),
            *map(SelectChoice, languages.LANGUAGES),
        ],
        default="",
    )

    def validate_status_map(self, field: Field) -> None:
        """Pairs such as subscribed=confirmed, each naming one of our statuses."""
        try:
            import_formats.parse_status_map(field.data)
        except ValueError:
            raise ValidationError(
                "Write pairs such as subscribed=confirmed,cleaned=bounced; ours are "
                "pending, confirmed, unsubscribed and bounced."
            ) from None


# The subscriber list's filter for complaints, beside the statuses.
COMPLAINED = "complained"


def subscriber_filters(
    args: MultiDict,
) -> tuple[str, SubscriptionStatus | None, bool, int | None]:
    """The list's query string (``q``, ``status``, ``before``); nonsense is a 400.

    Besides the statuses, ``status=complained`` lists the readers who marked our mail as
    spam (unsubscribed, flagged): returned as the third value, with no status.
    """
    query = args.get("q", "")[:MAX_QUERY_LENGTH]
    complained = args.get("status") == COMPLAINED
    status = None if complained else SubscriptionStatus.parse_filter(args.get("status"))
    return query, status, complained, page_cursor(args)


def page_cursor(args: MultiDict) -> int | None:
    """``before``, the id a list pages back from (the subscribers', the audit trail's);
    nonsense is a 400."""
    before_text = args.get("before", "")
    cursor_digits = len(str(MAX_CURSOR))
    if before_text and not (
        len(before_text) <= cursor_digits
        and before_text.isascii()
        and before_text.isdigit()
        and 0 < int(before_text) < MAX_CURSOR
    ):
        raise Refused(400, "bad_cursor")
    return int(before_text) if before_text else None
