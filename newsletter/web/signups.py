"""The one signup pipeline behind every surface: page form, iframe form, JSON API."""

import logging

from newsletter import db
from newsletter import subscriptions
from newsletter.models import Newsletter
from newsletter.subscriptions import Evidence
from newsletter.web import limits
from newsletter.web.forms import SignupFields

log = logging.getLogger(__name__)


def accept(form: SignupFields, newsletter: Newsletter, evidence: Evidence) -> bool:
    """Validate and sign up; False when the form has errors to show (nothing is stored).

    A honeypot hit is answered as a success, so bots learn nothing, and stores nothing.
    """
    if form.filled_by_bot():
        log.info(
            "Honeypot filled on %s (%s): answered as success", newsletter.slug, evidence.source
        )
        return True
    if not form.validate():
        return False
    limits.check_address(form.email.data)
    session = db.session()
    subscriptions.subscribe(session, newsletter, form.email.data, evidence)
    session.commit()
    return True
