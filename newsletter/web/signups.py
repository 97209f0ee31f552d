"""The one signup pipeline behind every surface: page form, iframe form, JSON API.

A valid signup is only recorded here; the mail worker applies it. The request thus does
the same work whatever the address's state (see ``newsletter.signup_requests``). The
forms for several newsletters take the ones they offer from ``?newsletters=`` here too.
"""

import logging
from collections.abc import Callable

from flask import abort
from flask import request
from wtforms.validators import ValidationError

from newsletter import addresses
from newsletter import db
from newsletter import newsletter_snapshot
from newsletter import signup_requests
from newsletter.models import Newsletter
from newsletter.subscriptions import Evidence
from newsletter.web import forms
from newsletter.web import limits
from newsletter.web import newsletter_choice
from newsletter.web import sent_to
from newsletter.web.forms import SeveralSignupFields
from newsletter.web.forms import SignupFields
from newsletter.web.sent_to import SentTo

log = logging.getLogger(__name__)


def accept(form: SignupFields, newsletter: Newsletter, evidence: Evidence) -> bool:
    """Validate and record a signup to one newsletter (see :func:`_accept`)."""
    return _accept(form, evidence, lambda: [newsletter])


def accept_several(form: SeveralSignupFields, evidence: Evidence) -> bool:
    """Validate and record a signup to the newsletters the form's reader chose."""
    return _accept(form, evidence, lambda: form.chosen)


def _accept(form: SignupFields, evidence: Evidence, chosen: Callable[[], list[Newsletter]]) -> bool:
    """Validate and record the signup to the ``chosen`` newsletters (known once the form
    is validated); False when the form has errors (nothing is stored).

    A honeypot hit is answered as a success, so bots learn nothing, and stores nothing.
    Its form is validated all the same, only so that the success message echoes the
    address as it would for a person (:mod:`~newsletter.web.sent_to`).
    """
    if form.filled_by_bot():
        form.validate()
        slugs = ",".join(newsletter.slug for newsletter in chosen())
        log.info("Honeypot filled on %s (%s): answered as success", slugs, evidence.source)
        return True
    if not form.validate():
        return False
    record(chosen(), form.email.data, evidence)
    return True


def record(chosen: list[Newsletter], address: str, evidence: Evidence) -> None:
    """Record a valid signup of ``address`` (normalised) to the ``chosen`` newsletters,
    within the address's own rate limit."""
    limits.check_address(address)
    signup_requests.record(db.session(), chosen, address, evidence)


def plain_address() -> str | None:
    """The normalised address of a plain form POST (:func:`forms.plain_fields`), if it is
    valid; None when the form must decide and say what is wrong."""
    fields = forms.plain_fields()
    if fields is None:
        return None
    try:
        return forms.normalized(fields.get("email", ""))
    except addresses.InvalidAddress:
        return None


def plain_choice(offered: list[Newsletter], not_offered: str | None) -> list[Newsletter] | None:
    """The newsletters a plain form POST ticked among ``offered``, if they are a valid
    choice; None when the form must decide."""
    fields = forms.plain_fields()
    if fields is None:
        return None
    try:
        return forms.chosen_among(offered, not_offered, fields.getlist("newsletters"))
    except ValidationError:
        return None


def offered_or_404() -> list[Newsletter]:
    """The newsletters the request's ``?newsletters=`` names (every public one without
    it); a page cannot show a form with a newsletter that is not there: 404."""
    try:
        return newsletter_choice.from_parameter(request.args.get("newsletters"))
    except newsletter_choice.UnknownNewsletter:
        abort(404)


def offered() -> tuple[list[Newsletter], str | None]:
    """What a submitted form for several newsletters offers: the newsletters its URL names,
    or, when a name there is no public newsletter (gone since the form was shown, or made
    up), every public one and that name, for the form to refuse (a 422 naming it)."""
    try:
        return newsletter_choice.from_parameter(request.args.get("newsletters")), None
    except newsletter_choice.UnknownNewsletter as unknown:
        return newsletter_snapshot.public(), unknown.slug


def several_sent_to() -> tuple[SentTo | None, list[Newsletter]]:
    """What the thank-you page of a signup to several newsletters says: the address and
    the chosen newsletters (those still public) its parameter names, if it is valid."""
    signed = sent_to.several_from_request()
    if signed is None:
        return None, []
    slugs, sent = signed
    return sent, newsletter_snapshot.public_named(slugs)
