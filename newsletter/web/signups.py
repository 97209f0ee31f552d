"""The one signup pipeline behind every surface: page form, iframe form, JSON API.

A valid signup is only recorded here; the mail worker applies it. The request thus does
the same work whatever the address's state (see ``newsletter.signup_requests``).
"""

import logging

from newsletter import db
from newsletter import signup_requests
from newsletter.models import Newsletter
from newsletter.subscriptions import Evidence
from newsletter.web import limits
from newsletter.web.forms import SignupFields

log = logging.getLogger(__name__)


def accept(form: SignupFields, newsletter: Newsletter, evidence: Evidence) -> bool:
    """Validate and record a signup to one newsletter (see :func:`accept_several`)."""
    return accept_several(form, [newsletter], evidence)


def accept_several(form: SignupFields, chosen: list[Newsletter], evidence: Evidence) -> bool:
    """Validate and record the signup; False when the form has errors (nothing is stored).

    A honeypot hit is answered as a success, so bots learn nothing, and stores nothing.
    Its form is validated all the same, only so that the success message echoes the
    address as it would for a person (:mod:`~newsletter.web.sent_to`).
    """
    if form.filled_by_bot():
        slugs = ",".join(newsletter.slug for newsletter in chosen)
        log.info("Honeypot filled on %s (%s): answered as success", slugs, evidence.source)
        form.validate()
        return True
    if not form.validate():
        return False
    limits.check_address(form.email.data)
    signup_requests.record(db.session(), chosen, form.email.data, evidence)
    return True
