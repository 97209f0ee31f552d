"""One guard for every request body, before any CSRF check, view or error handler reads it.

Every body is capped at ``MAX_CONTENT_LENGTH`` (413 past it), but for the routes of
:data:`LARGER_BODIES`, whose own setting caps theirs. Only two kinds of body are read
here: a form (``application/x-www-form-urlencoded`` or ``multipart/form-data``) on our
pages and the admin, and a JSON object on the API. Any other body is refused up front,
in the caller's format, and nothing is stored:

- a body of another content type (JSON to a page, a form to the API): 415;
- JSON that is not UTF-8, does not parse, or nests too deeply to parse: 400;
- JSON that is not an object: 400.

Refusing early matters because Flask-WTF builds a form from a JSON body too, and
raises on one it cannot parse or that is not an object, also inside error handlers,
where nothing catches it. Werkzeug parses forms leniently and never raises on one.
The API's JSON is parsed here once; views read it from the cache with ``get_json()``.
"""

from flask import Flask
from flask import abort
from flask import current_app
from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from newsletter.web.errors import Refused

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
JSON_BLUEPRINTS = {"api"}
# Providers' webhooks read their raw bytes themselves: a signature covers them as sent, and
# SNS posts JSON as text/plain (``newsletter.web.bounce_webhooks``).
RAW_BLUEPRINTS = {"bounce_webhooks"}
# Routes taking more than a form's body (an import's upload): the setting that caps theirs.
LARGER_BODIES = {"admin.start_import": "IMPORT_MAX_UPLOAD_BYTES"}
# The methods whose bodies Flask-WTF reads; our views read no others.
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class StrictJSONProvider(DefaultJSONProvider):
    """JSON in as RFC 8259 has it: UTF-8 only, and too deep a nesting is invalid JSON.

    Python's parser recurses per level and raises RecursionError, which is no ValueError
    and so escapes even ``get_json(silent=True)``.
    """

    def loads(self, s: str | bytes, **kwargs):
        try:
            return super().loads(s.decode("utf-8") if isinstance(s, bytes) else s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def init_app(app: Flask) -> None:
    """Parse JSON strictly; check bodies before the hooks registered after this one."""
    app.json = StrictJSONProvider(app)
    app.before_request(check_body)


def check_body() -> None:
    """Refuse a body the route would not read, or could not; see the module's list."""
    if request.method not in BODY_METHODS or request.routing_exception is not None:
        return  # nothing reads the body, or routing answers 404/405 anyway
    if request.endpoint in LARGER_BODIES:
        request.max_content_length = current_app.config[LARGER_BODIES[request.endpoint]]
    if request.blueprint in RAW_BLUEPRINTS:
        return
    if request.blueprint in JSON_BLUEPRINTS:
        _check_json_object()
    elif request.mimetype not in FORM_TYPES and (request.mimetype or _has_body()):
        abort(415)


def _check_json_object() -> None:
    """A JSON object, or 415/400 with the reason."""
    if not request.is_json:
        raise Refused(415, "expected_json")
    try:
        body = request.get_json()
    except BadRequest:
        raise Refused(400, "invalid_json") from None
    if not isinstance(body, dict):
        raise Refused(400, "expected_object")


def _has_body() -> bool:
    """Whether the request says it carries a body (a length, or chunks)."""
    return bool(request.content_length) or "Transfer-Encoding" in request.headers
