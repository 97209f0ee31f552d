"""The JSON API for scripts and for ``embed.js``: ``/api/v1``.

CORS is answered for each newsletter's allowed origins only, by exact match, without
credentials. A request that carries an ``Origin`` the newsletter does not allow is
refused with 403 before any field is read, so no other site can make its visitors'
browsers submit addresses; requests without ``Origin`` (scripts, servers) are served.
A body that is not a JSON object never gets this far (see :mod:`~newsletter.web.bodies`).
No cookie is read or set: browsers send these requests with ``credentials: "omit"``.
CORS is written here rather than with Flask-CORS: the allowed origins are the newsletter's
(known only once its slug is looked up), and a refused origin must get a 403, not merely
an answer without CORS headers that the request still acted on.
"""

from flask import Blueprint
from flask import Response
from flask import abort
from flask import g
from flask import request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from newsletter import db
from newsletter import newsletters
from newsletter.models import Newsletter
from newsletter.web import evidence
from newsletter.web import form_words
from newsletter.web import origins
from newsletter.web import signups
from newsletter.web.forms import SignupFields
from newsletter.web.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PREFLIGHT_MAX_AGE = 7200  # Chromium's cap; Firefox allows more
STRING_FIELDS = ("email", "website", "source_url")


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return document()


# Flask's automatic OPTIONS answer would shadow the preflight view below.
@bp.get("/newsletters/<slug>", provide_automatic_options=False)
def newsletter(slug: str):
    """A newsletter's public face, and the form's words: what ``embed.js`` renders."""
    found = _newsletter_for_origin(slug)
    return {
        "slug": found.slug,
        "name": found.name,
        "description": found.description,
        "form": form_words.as_json(),
    }


@bp.route("/newsletters/<slug>", methods=["OPTIONS"])
@bp.route("/newsletters/<slug>/subscriptions", methods=["OPTIONS"])
def preflight(slug: str):
    """CORS preflight: allowed origins get the methods and headers; others get 403."""
    _newsletter_for_origin(slug)
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


@bp.post("/newsletters/<slug>/subscriptions")
def subscribe(slug: str):
    """Sign an address up: 202 whatever the address's state; 422 with field errors."""
    found = _newsletter_for_origin(slug)
    body = _json_object()
    form = SignupFields(formdata=MultiDict(body))
    source_url = body.get("source_url") or request.referrer
    if not signups.accept(form, found, evidence.from_request("api", source_url)):
        return {"errors": form.errors}, 422
    return {"status": "pending", "message": form_words.current().thanks}, 202


@bp.after_request
def _cors_headers(response: Response) -> Response:
    """Let an allowed origin read the answer, errors included (a 429 from the rate limiter
    is raised before the view runs); caches must keep one answer per origin."""
    response.headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    if origin is not None and "cors_origin" not in g:
        slug = (request.view_args or {}).get("slug", "")
        try:
            found = newsletters.get_by_slug(db.session(), slug)
        except SQLAlchemyError:  # the database is down: the 503 goes out without CORS
            found = None
        g.cors_origin = origin if found and origins.is_allowed(found, origin) else None
    if g.get("cors_origin"):
        response.headers["Access-Control-Allow-Origin"] = g.cors_origin
    return response


def _newsletter_for_origin(slug: str) -> Newsletter:
    """The newsletter, if the requesting origin (if any) may use it; else 404 or 403."""
    found = newsletters.get_by_slug(db.session(), slug)
    if found is None:
        abort(404)
    origin = request.headers.get("Origin")
    if origin is not None:
        g.cors_origin = origin if origins.is_allowed(found, origin) else None
        if g.cors_origin is None:
            abort(403, description="origin_not_allowed")
    return found


def _json_object() -> dict[str, str]:
    """The body's string fields; :mod:`~newsletter.web.bodies` made sure it is an object."""
    body = request.get_json()
    # A field of the wrong type counts as missing, so it fails validation like one.
    return {name: body[name] for name in STRING_FIELDS if isinstance(body.get(name), str)}
