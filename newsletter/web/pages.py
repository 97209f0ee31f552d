"""The product's own pages: the newsletters, a newsletter's signup form, the thank-you page."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound

from newsletter import db
from newsletter import newsletters
from newsletter.models import Newsletter
from newsletter.web import evidence
from newsletter.web import signups
from newsletter.web.forms import FORM_EXPIRED
from newsletter.web.forms import SignupForm

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Every newsletter with its signup form."""
    listed = newsletters.all_newsletters(db.session())
    return render_template("pages/index.html", newsletters=listed, form=SignupForm())


@bp.get("/newsletters/<slug>")
def newsletter(slug: str):
    """One newsletter's signup page."""
    return render_template("pages/newsletter.html", newsletter=_get_or_404(slug), form=SignupForm())


@bp.post("/newsletters/<slug>/subscribe")
def subscribe(slug: str):
    """Sign up; the answer is the same whatever the address's state (no enumeration)."""
    found = _get_or_404(slug)
    form = SignupForm()
    if not signups.accept(form, found, evidence.from_request("web")):
        return render_template("pages/newsletter.html", newsletter=found, form=form), 422
    return redirect(url_for("pages.subscribed", slug=found.slug), 303)


@bp.get("/newsletters/<slug>/subscribed")
def subscribed(slug: str):
    """Successfully subscribed: the confirmation email is on its way."""
    return render_template("pages/subscribed.html", newsletter=_get_or_404(slug))


@bp.errorhandler(CSRFError)
def form_expired(_error: CSRFError):
    """A stale or missing CSRF token: show the form again, with a fresh token."""
    found = newsletters.get_by_slug(db.session(), (request.view_args or {}).get("slug", ""))
    if found is None:
        # Raising here would escape the error handling and become a 500.
        return current_app.handle_http_exception(NotFound())
    form = SignupForm()
    form.email.errors = [FORM_EXPIRED]
    return render_template("pages/newsletter.html", newsletter=found, form=form), 400


def _get_or_404(slug: str) -> Newsletter:
    """The newsletter with this slug, or a 404 answer."""
    found = newsletters.get_by_slug(db.session(), slug)
    if found is None:
        abort(404)
    return found
