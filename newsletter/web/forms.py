"""The signup form and its address check (the seed page's wording)."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import Field
from wtforms import Form
from wtforms.validators import ValidationError

from newsletter import addresses

INVALID_ADDRESS = "Please, enter correct email address"


class ValidAddress:
    """Validate with email-validator and leave the *normalised* address in the field."""

    def __call__(self, form: Form, field: Field) -> None:
        try:
            field.data = addresses.normalize(
                field.data or "",
                check_deliverability=current_app.config["CHECK_DELIVERABILITY"],
            )
        except addresses.InvalidAddress as error:
            raise ValidationError(INVALID_ADDRESS) from error


class SignupForm(FlaskForm):
    """Enter your email to subscribe."""

    email = EmailField("Email", validators=[ValidAddress()])
