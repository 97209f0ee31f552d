"""The product's own pages: the newsletters, a newsletter's signup form, a form for several
(``/subscribe?newsletters=a,b``), and their thank-you pages."""

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError

from newsletter import newsletter_snapshot
from newsletter.models import Newsletter
from newsletter.web import errors
from newsletter.web import evidence
from newsletter.web import form_pages
from newsletter.web import form_words
from newsletter.web import sent_to
from newsletter.web import signups
from newsletter.web import slugs
from newsletter.web.forms import SeveralSignupForm
from newsletter.web.forms import SignupForm
from newsletter.web.sent_to import SentTo

bp = Blueprint("pages", __name__)
slugs.look_up_newsletters(bp)


@bp.get("/")
def index():
    """Every public newsletter with its signup form."""
    listed = newsletter_snapshot.public()
    return render_template("pages/index.html", newsletters=listed, form=SignupForm())


@bp.get("/newsletters/<slug>", endpoint="newsletter")
def newsletter_page(newsletter: Newsletter):
    """One newsletter's signup page."""
    return form_pages.fresh(
        [newsletter],
        lambda: render_template("pages/newsletter.html", newsletter=newsletter, form=SignupForm()),
    )


@bp.post("/newsletters/<slug>/subscribe")
def subscribe(newsletter: Newsletter):
    """Sign up; the answer is the same whatever the address's state (no enumeration)."""
    address = signups.plain_address()
    if address is not None:
        signups.record([newsletter], address, evidence.from_request("web"))
        sent: SentTo | None = sent_to.of_address(address)
    else:
        form = SignupForm()
        if not signups.accept(form, newsletter, evidence.from_request("web")):
            return render_template("pages/newsletter.html", newsletter=newsletter, form=form), 422
        sent = sent_to.of(form)
    signed = sent_to.signed(sent, newsletter.slug)
    return redirect(url_for("pages.subscribed", slug=newsletter.slug, sent_to=signed), 303)


@bp.get("/newsletters/<slug>/subscribed")
def subscribed(newsletter: Newsletter):
    """Successfully subscribed: the confirmation email is on its way (to whom, if the
    redirect said)."""
    sent = sent_to.from_request(newsletter.slug)
    return render_template("pages/subscribed.html", newsletter=newsletter, sent=sent)


@bp.get("/subscribe")
def subscribe_to_several():
    """A form for the newsletters ``?newsletters=`` names (every public one without it)."""
    offered = signups.offered_or_404()
    return form_pages.fresh(
        offered,
        lambda: _several(SeveralSignupForm().offering(offered)),
        repeats=request.args.get("newsletters"),
    )


@bp.post("/subscribe")
def sign_up_to_several():
    """Sign up to the newsletters ticked, with one confirmation email for them all; the
    answer is the same whatever the address's state."""
    offered = signups.offered()
    address = signups.plain_address()
    chosen = signups.plain_choice(*offered) if address is not None else None
    if address is not None and chosen is not None:
        signups.record(chosen, address, evidence.from_request("web"))
        sent: SentTo | None = sent_to.of_address(address)
    else:
        form = SeveralSignupForm().offering(*offered)
        if not signups.accept_several(form, evidence.from_request("web")):
            return _several(form), 422
        chosen, sent = form.chosen, sent_to.of(form)
    signed = sent_to.signed(sent, [newsletter.slug for newsletter in chosen])
    return redirect(url_for("pages.subscribed_to_several", sent_to=signed), 303)


@bp.get("/subscribed")
def subscribed_to_several():
    """The thank-you page after a signup to several newsletters, naming them (and the
    address) if the redirect said."""
    sent, chosen = signups.several_sent_to()
    return render_template("pages/subscribed_several.html", sent=sent, chosen=chosen)


def _several(form: SeveralSignupForm) -> str:
    """The page of a form for several newsletters, with its errors if any."""
    action = url_for("pages.sign_up_to_several", newsletters=request.args.get("newsletters"))
    return render_template("pages/several.html", offered=form.offered, form=form, action=action)


@errors.answered_by_form("pages.subscribe")
def _form_with_error(message: str) -> str | None:
    """A refused submission (a 429, a 403) as the page's form again: the address
    as typed, the error under it (see newsletter/web/errors.py)."""
    newsletter = (request.view_args or {}).get("newsletter")
    return None if newsletter is None else _page_with_error(newsletter, message)


@errors.answered_by_form("pages.sign_up_to_several")
def _several_form_with_error(message: str) -> str | None:
    """The same for the form for several newsletters."""
    form = SeveralSignupForm().offering(*signups.offered())
    form.form_errors.append(message)
    return _several(form)


@bp.errorhandler(CSRFError)
def form_expired(_error: CSRFError):
    """A stale or missing CSRF token: show the form again, with a fresh token."""
    if request.endpoint == "pages.sign_up_to_several":
        form = SeveralSignupForm().offering(signups.offered_or_404())
        form.form_errors.append(form_words.current().expired)
        return _several(form), 400
    # The newsletter was looked up before the CSRF check ran (an unknown one is a 404).
    newsletter = (request.view_args or {})["newsletter"]
    return _page_with_error(newsletter, form_words.current().expired), 400


def _page_with_error(newsletter: Newsletter, message: str) -> str:
    """The newsletter's page with its form again: the address as typed, ``message`` under
    it, and a fresh CSRF token."""
    form = SignupForm()
    form.form_errors.append(message)
    return render_template("pages/newsletter.html", newsletter=newsletter, form=form)
