"""Forms on other sites: the iframe form and the ``embed.js`` script.

The iframe form works with third-party cookies blocked because it uses none: instead of
a session CSRF token it carries a signed, expiring token naming its newsletter
(:class:`~newsletter.web.forms.SignedFormToken`), and its POST must come from our own
frame (``Sec-Fetch-Site: same-origin``, or, from browsers without Fetch Metadata, an
``Origin`` that is ours). Only the newsletter's allowed origins may frame it.

``/embed?newsletters=a,b`` is the form for several newsletters: its token names the set it
offers, and only the origins that every one of them allows may frame it.
"""

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import url_for

from newsletter.models import Newsletter
from newsletter.web import errors
from newsletter.web import evidence
from newsletter.web import newsletter_choice
from newsletter.web import origins
from newsletter.web import security
from newsletter.web import sent_to
from newsletter.web import signups
from newsletter.web import slugs
from newsletter.web.errors import Refused
from newsletter.web.forms import EmbedSeveralSignupForm
from newsletter.web.forms import EmbedSignupForm

bp = Blueprint("embed", __name__)
slugs.look_up_newsletters(bp)

SCRIPT_MAX_AGE = 300  # publishers pick up a new embed.js within minutes


@bp.get("/newsletters/<slug>/embed")
def form(newsletter: Newsletter):
    """The compact form, for an ``<iframe>`` on an allowed site."""
    signup = EmbedSignupForm(meta={"csrf_context": newsletter.slug})
    signup.source_url.data = request.referrer or ""
    return _render(newsletter, signup)


@bp.post("/newsletters/<slug>/embed")
def subscribe(newsletter: Newsletter):
    """Submit from inside the frame; errors and success stay in the frame."""
    if not _from_our_frame():
        raise Refused(403, "origin_not_allowed")
    signup = _sent_form(newsletter)
    source = evidence.from_request("embed", signup.source_url.data or None)
    if not signups.accept(signup, newsletter, source):
        return _render(newsletter, signup), 422
    sent = sent_to.signed(sent_to.of(signup), newsletter.slug)
    return redirect(url_for("embed.subscribed", slug=newsletter.slug, sent_to=sent), 303)


@bp.get("/newsletters/<slug>/embed/subscribed")
def subscribed(newsletter: Newsletter):
    """The success message, inside the frame."""
    return render_template(
        "embed/subscribed.html",
        newsletter=newsletter,
        sent=sent_to.from_request(newsletter.slug),
        **_frame_context(newsletter),
    )


@bp.get("/embed")
def several_form():
    """The compact form for several newsletters, for an ``<iframe>`` on a site that every
    one of them allows."""
    offered = signups.offered_or_404()
    signup = EmbedSeveralSignupForm(meta={"csrf_context": newsletter_choice.key(offered)})
    signup.source_url.data = request.referrer or ""
    return _render_several(signup.offering(offered))


@bp.post("/embed")
def subscribe_to_several():
    """Submit from inside the frame; one confirmation email for the newsletters ticked."""
    if not _from_our_frame():
        raise Refused(403, "origin_not_allowed")
    signup = _sent_several_form()
    source = evidence.from_request("embed", signup.source_url.data or None)
    if not signups.accept_several(signup, source):
        return _render_several(signup), 422
    sent = sent_to.signed(sent_to.of(signup), [newsletter.slug for newsletter in signup.chosen])
    offered_parameter = request.args.get("newsletters")
    return redirect(
        url_for("embed.subscribed_to_several", newsletters=offered_parameter, sent_to=sent), 303
    )


@bp.get("/embed/subscribed")
def subscribed_to_several():
    """The success message inside the frame, naming the newsletters chosen."""
    frame = _several_frame_context(signups.offered_or_404())
    sent, chosen = signups.several_sent_to()
    return render_template("embed/subscribed_several.html", sent=sent, chosen=chosen, **frame)


@bp.get("/embed.js")
def script():
    """The script a site includes once to render ``<div data-newsletter="SLUG">`` forms."""
    response = send_from_directory(current_app.static_folder, "embed.js", max_age=SCRIPT_MAX_AGE)
    # Any site may load the script; what it may do is decided per newsletter by the API.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/embed.css")
def stylesheet():
    """The form's stylesheet (``static/form.css``), for ``embed.js``'s shadow root."""
    response = send_from_directory(current_app.static_folder, "form.css", max_age=SCRIPT_MAX_AGE)
    # embed.js reads it with fetch(), which a site's CSP allows as it allows the API calls
    # (connect-src), where a <link> would need the site's style-src: so CORS, for any site.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@errors.answered_by_form("embed.subscribe")
def _form_with_error(message: str) -> str | None:
    """A refused submission (a 429, a 403) as the frame's form again: the
    address as typed, the error under it (see newsletter/web/errors.py)."""
    newsletter = (request.view_args or {}).get("newsletter")
    if newsletter is None:
        return None
    signup = _sent_form(newsletter)
    signup.form_errors.append(message)
    return _render(newsletter, signup)


@errors.answered_by_form("embed.subscribe_to_several")
def _several_form_with_error(message: str) -> str | None:
    """The same for the form for several newsletters (its framing set by its context)."""
    signup = _sent_several_form()
    signup.form_errors.append(message)
    return _render_several(signup)


@bp.after_request
def _framable_by_allowed_origins(response: Response) -> Response:
    """Only the newsletter's allowed origins may frame its form (errors included)."""
    newsletter = (request.view_args or {}).get("newsletter")
    if newsletter is not None:
        security.allow_framing_by(newsletter.allowed_origins)
    return response


def _sent_form(newsletter: Newsletter) -> EmbedSignupForm:
    """The frame's form as sent, checked against a token naming its newsletter."""
    return EmbedSignupForm(request.form, meta={"csrf_context": newsletter.slug})


def _sent_several_form() -> EmbedSeveralSignupForm:
    """The frame's form for several newsletters as sent, checked against a token naming
    the set it offered."""
    offered, not_offered = signups.offered()
    meta = {"csrf_context": newsletter_choice.key(offered)}
    return EmbedSeveralSignupForm(request.form, meta=meta).offering(offered, not_offered)


def _from_our_frame() -> bool:
    """Fetch Metadata first; the Origin header for browsers that don't send it."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is None or origin == origins.own_origin()


def _render(newsletter: Newsletter, signup: EmbedSignupForm) -> str:
    """The iframe form, with its errors if any."""
    return render_template(
        "embed/form.html", newsletter=newsletter, form=signup, **_frame_context(newsletter)
    )


def _frame_context(newsletter: Newsletter) -> dict:
    """The origins the frame may tell its height to (postMessage needs exact targets)."""
    return {"parent_origins": newsletter.allowed_origins, "frame_key": newsletter.slug}


def _render_several(signup: EmbedSeveralSignupForm) -> str:
    """The iframe form for several newsletters, with its errors if any."""
    action = url_for("embed.subscribe_to_several", newsletters=request.args.get("newsletters"))
    return render_template(
        "embed/several.html",
        offered=signup.offered,
        form=signup,
        action=action,
        **_several_frame_context(signup.offered),
    )


def _several_frame_context(offered: list[Newsletter]) -> dict:
    """Only the origins every offered newsletter allows may frame the form, and hear
    from it."""
    allowed = newsletter_choice.allowed_origins(offered)
    security.allow_framing_by(allowed)
    return {"parent_origins": allowed, "frame_key": newsletter_choice.key(offered)}
