"""Error answers in the caller's format: an HTML page for people, JSON for scripts.

No traceback or exception text ever reaches the client; a 500 is logged for the operator
and the request's transaction is rolled back.
"""

import logging
from collections.abc import Callable

from flask import Flask
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import ServiceUnavailable

from newsletter import db
from newsletter.manage import UnknownChoice
from newsletter.models import UnknownStatus
from newsletter.refusals import Refusal
from newsletter.subscriptions import InvalidLink
from newsletter.web import limits

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    401: (_l("Sign in required"), _l("Sign in, or send a valid API token, to see this.")),
    403: (_l("Not allowed"), _l("You may not do this.")),
    404: (_l("Page not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    410: (_l("Link expired"), _l("This link no longer works.")),
    413: (_l("Request too large"), _l("What was sent is larger than this service accepts.")),
    415: (_l("Unsupported content type"), _l("This address does not accept that kind of content.")),
    429: (_l("Too many requests"), _l("You have tried this too often. Please wait a little.")),
    500: (_l("Something went wrong"), _l("Sorry, the page could not be shown. Please try again.")),
    503: (
        _l("Temporarily unavailable"),
        _l("The service is busy or down. Please try again shortly."),
    ),
}

# How long to wait, in words, where the answer says it in Retry-After.
WAIT_MESSAGES: dict[int, Callable[[str], str]] = {
    429: lambda wait: _("You have tried this too often. Please try again in %(wait)s.", wait=wait),
    503: lambda wait: _("The service is busy or down. Please try again in %(wait)s.", wait=wait),
}

# Finer reasons than a status: ``raise Refused(status, reason)``, or a domain refusal.
REASONS = {
    "invalid_link": (
        _l("Link not valid"),
        _l(
            "This link is not valid: it may have been cut off by your mail program, or the "
            "subscription no longer exists. You can sign up again from the newsletter's page."
        ),
    ),
    "origin_not_allowed": (
        _l("Not allowed from this site"),
        _l("This newsletter's form may not be used from this site."),
    ),
    "unknown_newsletter": (_l("Page not found"), _l("There is no such newsletter here.")),
    "invalid_json": (_l("Bad request"), _l("The body is not valid JSON.")),
    "expected_object": (
        _l("Bad request"),
        _l('The body must be a JSON object, such as {"email": "…"}.'),
    ),
    "expected_json": (_l("Unsupported content type"), _l("Send the body as application/json.")),
    "unknown_status": (
        _l("Bad request"),
        _l("There is no such status: use pending, confirmed or unsubscribed."),
    ),
    "bad_cursor": (_l("Bad request"), _l("This page of the list does not exist.")),
    "not_offered": (_l("Newsletter not found"), _l("There is no such newsletter to choose here.")),
}

# What each of the domain's refusals is in HTTP.
REFUSAL_STATUS: dict[type[Refusal], int] = {
    InvalidLink: 404,
    UnknownStatus: 400,
    UnknownChoice: 404,
}


# A form's errors that the form itself answers, the address kept and the error under it:
# a refusal of the request as a whole, where the form can still be read (not 413's body)
# and the database is not needed to show it again (not a 503's outage).
FORM_ANSWERED = (403, 429)
# The views whose form answers them (endpoint: renders the page or frame of the form sent,
# with the message as the form's error; None when it cannot, as for an unknown newsletter).
FORM_ANSWERS: dict[str, Callable[[str], str | None]] = {}

# Retry-After for a database outage: long enough to restart, short enough for a reader.
OUTAGE_RETRY_SECONDS = 10


class Refused(HTTPException):
    """An HTTP error with a finer reason than its status (a key of :data:`REASONS`)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__()
        self.code = status
        self.reason = reason


def answered_by_form(*endpoints: str) -> Callable:
    """Register a view module's renderer of its form with an error (see FORM_ANSWERS)."""

    def register(render: Callable[[str], str | None]) -> Callable[[str], str | None]:
        for endpoint in endpoints:
            FORM_ANSWERS[endpoint] = render
        return render

    return register


def init_app(app: Flask) -> None:
    """Answer every HTTP error, and any unexpected exception, in the caller's format."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Refusal, _refusal)
    # The database is down, restarting, or too busy: a temporary state, not a bug.
    for outage in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(outage, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)


def wants_json() -> bool:
    """Scripts get JSON: the API's paths, and clients that prefer JSON to HTML."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    # A Bearer token comes from a script (browsers never send one on their own), and
    # curl's "Accept: */*" would otherwise get an HTML page.
    if request.headers.get("Authorization", "").lower().startswith("bearer"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def http_error(error: HTTPException):
    """Render an HTTP error with our own words, never the exception's internals."""
    status = error.code or 500
    reason = error.reason if isinstance(error, Refused) else _slug(error.name)
    default = MESSAGES.get(status, (error.name, _l("The request could not be completed.")))
    title, message = (str(words) for words in REASONS.get(reason, default))
    headers = _headers(error)
    if "Retry-After" in headers and status in WAIT_MESSAGES:
        message = WAIT_MESSAGES[status](limits.wait_in_words(int(headers["Retry-After"])))
    if wants_json():
        return {"error": reason, "message": message}, status, headers
    form = FORM_ANSWERS.get(request.endpoint or "") if status in FORM_ANSWERED else None
    page = form(message) if form is not None else None
    if page is None:
        template = "embed/error.html" if request.blueprint == "embed" else "errors/error.html"
        page = render_template(template, title=title, message=message)
    return page, status, headers


def _refusal(refusal: Refusal):
    """The domain refused: its reason, with the status that means here."""
    return http_error(Refused(REFUSAL_STATUS[type(refusal)], refusal.reason))


def _database_unavailable(error: Exception):
    """503 with Retry-After, quickly, while the database cannot be reached."""
    log.warning(
        "Database unavailable on %s %s: %s", request.method, request.path, type(error).__name__
    )
    db.end_session()
    unavailable = ServiceUnavailable(retry_after=OUTAGE_RETRY_SECONDS)
    return http_error(unavailable)


def _unexpected_error(error: Exception):
    """Log the bug, roll back, and answer 500 without details."""
    log.exception("Unhandled error on %s %s", request.method, request.path)
    db.end_session()
    return http_error(InternalServerError())


def _headers(error: HTTPException) -> dict[str, str]:
    """Keep headers an error must carry (Allow on 405, Retry-After on 429/503)."""
    response = error.get_response()
    kept = {name: value for name, value in response.headers if name in ("Allow", "Retry-After")}
    if isinstance(error, RateLimitExceeded):
        # Flask-Limiter's own exception carries its limit, not a Retry-After header.
        kept["Retry-After"] = str(error.limit.limit.get_expiry())
    return kept


def _slug(name: str) -> str:
    """An error's name as a machine-readable code: ``Not Found`` → ``not_found``."""
    return name.lower().replace(" ", "_")
