"""The JSON API for scripts and for ``embed.js``: ``/api/v1``.

CORS is answered for each newsletter's allowed origins only, by exact match, without
credentials. A request that carries an ``Origin`` the newsletter does not allow is
refused with 403 before any field is read, so no other site can make its visitors'
browsers submit addresses; requests without ``Origin`` (scripts, servers) are served.

``GET /newsletters?newsletters=a,b`` and ``POST /subscriptions`` are about several
newsletters: an origin may use them only if every newsletter named allows it. The POST
names them in its body, so its 403 comes once the JSON is parsed, but before any field
is validated or anything is stored; its preflight, which cannot know them, is answered
for origins that some public newsletter allows.
A body that is not a JSON object never gets this far (see :mod:`~newsletter.web.bodies`).
No cookie is read or set: browsers send these requests with ``credentials: "omit"``.
CORS is written here rather than with Flask-CORS: the allowed origins are the newsletter's
(known only once its slug is looked up), and a refused origin must get a 403, not merely
an answer without CORS headers that the request still acted on.
"""

from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from werkzeug.datastructures import MultiDict

from newsletter import languages
from newsletter.models import Newsletter
from newsletter.web import brand
from newsletter.web import evidence
from newsletter.web import form_words
from newsletter.web import newsletter_choice
from newsletter.web import origins
from newsletter.web import sent_to
from newsletter.web import signups
from newsletter.web import slugs
from newsletter.web.errors import Refused
from newsletter.web.forms import SeveralSignupFields
from newsletter.web.forms import SignupFields
from newsletter.web.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
slugs.look_up_newsletters(bp)

PREFLIGHT_MAX_AGE = 7200  # Chromium's cap; Firefox allows more
STRING_FIELDS = ("email", "website", "source_url")


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return document()


# Flask's automatic OPTIONS answer would shadow the preflight view below.
@bp.get("/newsletters/<slug>", endpoint="newsletter", provide_automatic_options=False)
def newsletter_face(newsletter: Newsletter):
    """A newsletter's public face, and the form's words: what ``embed.js`` renders."""
    return _face(newsletter) | {"form": form_words.as_json()}


@bp.get("/newsletters", endpoint="newsletters", provide_automatic_options=False)
def newsletters_faces():
    """The public faces of the newsletters ``?newsletters=a,b`` names (every public one
    without it), in the listing order, and the form's words: what ``embed.js`` renders
    for ``<div data-newsletters="a,b">``, in one request."""
    try:
        offered = newsletter_choice.from_parameter(request.args.get("newsletters"))
    except newsletter_choice.UnknownNewsletter:
        raise Refused(404, "unknown_newsletter") from None
    _check_origin_for(offered)
    return {"newsletters": [_face(newsletter) for newsletter in offered]} | {
        "form": form_words.as_json()
    }


@bp.route("/newsletters", methods=["OPTIONS"])
@bp.route("/subscriptions", methods=["OPTIONS"])
def preflight_for_several():
    """CORS preflight for the routes about several newsletters: for origins that some
    public newsletter allows (the request itself is checked against every one it names)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if not newsletter_choice.allowed_by_any(origin):
            raise Refused(403, "origin_not_allowed")
        g.cors_origin = origin
    return _preflight_answer()


@bp.post("/subscriptions")
def subscribe_to_several():
    """Sign an address up to several newsletters with one confirmation email: 202
    whatever the address's state; 422 with field errors (none chosen, an unknown one)."""
    chosen_slugs = _chosen_slugs()
    offered, not_offered = newsletter_choice.partition(chosen_slugs)
    _check_origin_for(offered)
    body = _json_object()
    formdata = MultiDict([*body.items(), *(("newsletters", slug) for slug in chosen_slugs)])
    form = SeveralSignupFields(formdata=formdata).offering(offered, not_offered)
    source_url = body.get("source_url") or request.referrer
    if not signups.accept_several(form, evidence.from_request(_source(), source_url)):
        return {"errors": form.errors}, 422
    accepted = {"status": "pending", "message": form_words.current().thanks_several}
    return accepted | sent_to.as_json(sent_to.of(form)), 202


def _face(newsletter: Newsletter) -> dict[str, str]:
    """What a form shows of a newsletter: its words (in the request's language), and its
    brand (``style``, the colours as CSS for the form's shadow root; ``logo_url``, empty
    for none)."""
    return {
        "slug": newsletter.slug,
        "name": languages.shown_name(newsletter),
        "description": languages.shown_description(newsletter),
        "style": brand.css(newsletter),
        "logo_url": newsletter.logo_url,
    }


@bp.route("/newsletters/<slug>", methods=["OPTIONS"])
@bp.route("/newsletters/<slug>/subscriptions", methods=["OPTIONS"])
def preflight(newsletter: Newsletter):
    """CORS preflight: allowed origins get the methods and headers; others got 403."""
    return _preflight_answer()


def _preflight_answer() -> Response:
    """What a preflight from an allowed origin (or none) is told."""
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


@bp.post("/newsletters/<slug>/subscriptions")
def subscribe(newsletter: Newsletter):
    """Sign an address up: 202 whatever the address's state, echoing the address masked
    (and its webmail); 422 with field errors."""
    body = _json_object()
    form = SignupFields(formdata=MultiDict(body))
    source_url = body.get("source_url") or request.referrer
    if not signups.accept(form, newsletter, evidence.from_request(_source(), source_url)):
        return {"errors": form.errors}, 422
    accepted = {"status": "pending", "message": form_words.current().thanks}
    return accepted | sent_to.as_json(sent_to.of(form)), 202


@bp.url_value_preprocessor
def _check_origin(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A request from a browser on a site the newsletter does not allow: 403, before any
    field (or the body) is read. The newsletter was looked up just before."""
    origin = request.headers.get("Origin")
    if origin is None or not values or "newsletter" not in values:
        return
    if not origins.is_allowed(values["newsletter"], origin):
        raise Refused(403, "origin_not_allowed")
    g.cors_origin = origin


@bp.after_request
def _cors_headers(response: Response) -> Response:
    """Let an allowed origin read the answer, errors included (a 429 from the rate limiter
    is raised before the view runs); caches must keep one answer per origin."""
    response.headers.add("Vary", "Origin")
    if "cors_origin" in g:
        response.headers["Access-Control-Allow-Origin"] = g.cors_origin
    return response


def _check_origin_for(offered: list[Newsletter]) -> None:
    """A browser on a site that one of the newsletters does not allow: 403."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if not newsletter_choice.allow(offered, origin):
        raise Refused(403, "origin_not_allowed")
    g.cors_origin = origin


def _source() -> str:
    """``script`` for a browser on an allowed site (embed.js, which sends an ``Origin``),
    ``api`` for a program (which sends none): the subscription's recorded source."""
    return "script" if "cors_origin" in g else "api"


def _chosen_slugs() -> list[str]:
    """The body's ``newsletters``: a list of strings, else none at all (so a value of the
    wrong type fails as a missing one does)."""
    chosen = request.get_json().get("newsletters")
    if not isinstance(chosen, list) or not all(isinstance(slug, str) for slug in chosen):
        return []
    return chosen


def _json_object() -> dict[str, str]:
    """The body's string fields; :mod:`~newsletter.web.bodies` made sure it is an object."""
    body = request.get_json()
    # A field of the wrong type counts as missing, so it fails validation like one.
    return {name: body[name] for name in STRING_FIELDS if isinstance(body.get(name), str)}
