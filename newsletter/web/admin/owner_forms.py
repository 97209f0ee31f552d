"""The owner's forms: an editor's role and newsletters, a new editor, a new API token,
and the audit trail's filters.

The newsletters are checkboxes whose choices (the slugs) are given when the form is made;
the domain (``roles``, ``editors``, ``api_tokens``) checks everything again when saving.
"""

from datetime import UTC
from datetime import datetime

from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import EmailField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from newsletter import api_tokens
from newsletter import audit
from newsletter import editors
from newsletter import newsletters
from newsletter.access_models import Role
from newsletter.web.admin.forms import at_most
from newsletter.web.admin.forms import page_cursor
from newsletter.web.errors import Refused

MAX_FILTER_LENGTH = 400


def every_slug(session: Session) -> list[str]:
    """Every newsletter's slug, in order: the choices of the newsletters' checkboxes."""
    return [newsletter.slug for newsletter in newsletters.all_newsletters(session)]


class NewsletterChoice(SelectMultipleField):
    """Newsletters as checkboxes, by slug."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoleForm(FlaskForm):
    """An editor's role, and the newsletters it covers (an owner's covers every one)."""

    role = SelectField("Role", choices=[role.value for role in Role])
    newsletters = NewsletterChoice("Newsletters")

    def __init__(self, slugs: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.newsletters.choices = slugs


class NewEditorForm(RoleForm):
    """A new editor: their address and first password, and their role."""

    email = EmailField("Email", validators=[DataRequired("Give the editor's address.")])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Give a password."),
            Length(
                editors.MIN_PASSWORD_LENGTH,
                editors.MAX_PASSWORD_LENGTH,
                f"At least {editors.MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )


class NewTokenForm(FlaskForm):
    """A new API token: what it is for, its newsletters (none: every one), its lifetime."""

    name = StringField(
        "What it is for", validators=[DataRequired("Say what the token is for."), at_most(200)]
    )
    newsletters = NewsletterChoice("Newsletters it may export (none: every newsletter)")
    days = IntegerField(
        "Days until it expires",
        default=api_tokens.DEFAULT_LIFETIME_DAYS,
        validators=[
            InputRequired("Give a number of days, such as 90."),
            NumberRange(
                1,
                api_tokens.MAX_LIFETIME_DAYS,
                f"A whole number from 1 to {api_tokens.MAX_LIFETIME_DAYS}.",
            ),
        ],
    )

    def __init__(self, slugs: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.newsletters.choices = slugs


def audit_filters(args: MultiDict) -> dict:
    """The audit page's query string (``actor``, ``action``, ``since``, ``before``) as
    :func:`audit.entries` takes it; nonsense is a 400."""
    action = args.get("action", "")
    if action and action not in {str(choice) for choice in audit.AuditAction}:
        raise Refused(400, "unknown_action")
    since_text = args.get("since", "")
    try:
        since = (
            datetime.strptime(since_text, "%Y-%m-%d").replace(tzinfo=UTC) if since_text else None
        )
    except ValueError:
        raise Refused(400, "bad_date") from None
    return {
        "actor": args.get("actor", "")[:MAX_FILTER_LENGTH].strip() or None,
        "action": action or None,
        "since": since,
        "before": page_cursor(args),
    }
