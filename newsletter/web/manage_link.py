"""``/manage`` without a token: ask for the manage link by address, get it by email.

The answer is the same for every address, known or not, and so is the request's work:
it records the request (:mod:`newsletter.manage_link_requests`) and the worker mails the
link to a reader only. Throttled like signups: the blueprint's POSTs share the signup
budget per network (``limits.init_app``) and count against the address's own limit.
Our own page, so session CSRF as on the signup pages.
"""

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from flask_wtf.csrf import CSRFError

from newsletter import db
from newsletter import manage_link_requests
from newsletter.web import form_words
from newsletter.web import limits
from newsletter.web.forms import SignupForm

bp = Blueprint("manage_link", __name__)


@bp.get("/manage")
def ask():
    """The form that asks for an address."""
    return render_template("manage/ask.html", form=SignupForm())


@bp.post("/manage")
def send():
    """Record the request; the same answer whatever the address (no enumeration)."""
    form = SignupForm()
    # A bot that filled the honeypot gets the same answer, and nothing is recorded.
    if not form.filled_by_bot():
        if not form.validate():
            return render_template("manage/ask.html", form=form), 422
        limits.check_address(form.email.data)
        manage_link_requests.record(db.session(), form.email.data)
    return redirect(url_for("manage_link.sent"), 303)


@bp.get("/manage/sent")
def sent():
    """Look in your inbox (if the address is a reader's, the link is on its way)."""
    return render_template("manage/sent.html")


@bp.errorhandler(CSRFError)
def form_expired(_error: CSRFError):
    """A stale or missing CSRF token: show the form again, with a fresh token."""
    form = SignupForm()
    form.email.errors = [form_words.current().expired]
    return render_template("manage/ask.html", form=form), 400
