"""``POST /webhooks/bounces/<provider>``: bounce and complaint reports from mail providers.

The provider's module (``newsletter.bounce_providers``) verifies the call; an unverifiable
one gets 401 and changes nothing, and the refusal is logged without the body. A verified
call's reports go to ``newsletter.bounces`` in the request's one transaction, together
with its one-time token (Mailgun's): a replayed call is refused, a report applied before
changes nothing, and a report about no message of ours is acknowledged and ignored (the
provider would otherwise retry it). Answers are JSON, for the provider's logs.

These calls come from the provider's servers, not from a browser: no CSRF token, their
own rate limit, and a larger body than a form's (SendGrid batches events).
"""

import logging
from collections import Counter

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import request

from newsletter import bounces
from newsletter import db
from newsletter.bounce_providers import Call
from newsletter.bounce_providers import Malformed
from newsletter.bounce_providers import Unverified
from newsletter.bounce_providers import mailgun
from newsletter.bounce_providers import postmark
from newsletter.bounce_providers import sendgrid
from newsletter.bounce_providers import ses
from newsletter.subscriptions import Evidence

log = logging.getLogger(__name__)

bp = Blueprint("bounce_webhooks", __name__)

PROVIDERS = {
    "ses": ses.receive,
    "postmark": postmark.receive,
    "mailgun": mailgun.receive,
    "sendgrid": sendgrid.receive,
}


@bp.before_request
def allow_larger_bodies() -> None:
    """A provider's batch may be larger than a form; it is still capped."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_CONTENT_LENGTH"]


@bp.post("/webhooks/bounces/<provider>")
def receive(provider: str):
    """Verify the call, apply its reports, and say what became of them."""
    receive_call = PROVIDERS.get(provider)
    if receive_call is None:
        abort(404)
    call = Call(request.get_data(), request.headers)
    try:
        verified = receive_call(call)
    except Unverified as refusal:
        log.warning("Refused a %s webhook call: %s", provider, refusal)
        return {"error": "unverified", "message": "The call could not be verified."}, 401
    except Malformed as error:
        log.warning("Refused a malformed %s webhook call: %s", provider, error)
        return {"error": "malformed", "message": str(error)}, 400
    session = db.session()
    if verified.nonce and not bounces.first_seen(session, f"{provider}-token", verified.nonce):
        log.warning("Refused a replayed %s webhook call (its token was used before)", provider)
        return {"error": "replayed", "message": "This call was received before."}, 401
    evidence = Evidence(
        ip=request.remote_addr, user_agent=request.user_agent.string, source=provider
    )
    outcomes = Counter(
        bounces.record(session, report, evidence).value for report in verified.reports
    )
    if outcomes:
        log.info("%s webhook: %s", provider, dict(outcomes))
    return {"received": len(verified.reports), **outcomes}, 200
