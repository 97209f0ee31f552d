"""Links from emails: confirm and unsubscribe. GET only shows a page; POST acts.

Mail scanners fetch every link (some run JavaScript), so a GET never changes anything and
no page submits itself. Repeating a POST is harmless. The unsubscribe result page leads
on to the reader's manage page (``newsletter.web.manage``). ``POST /unsubscribe/<token>`` also
answers RFC 8058 one-click requests from mail providers: no cookies, no redirect.
"""

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from newsletter import confirmations
from newsletter import db
from newsletter import link_tokens
from newsletter import subscriptions
from newsletter.confirmations import ConfirmLink
from newsletter.subscriptions import Evidence
from newsletter.subscriptions import Link
from newsletter.subscriptions import LinkState
from newsletter.web import evidence
from newsletter.web import security

bp = Blueprint("links", __name__)
bp.after_request(security.token_page)

# A link that can no longer do its job is answered 410 Gone, with a way forward.
STATUS = {LinkState.EXPIRED: 410, LinkState.SUPERSEDED: 410}
ONE_CLICK = "One-Click"


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    """The page with the "Confirm subscription" button."""
    link = confirmations.inspect(db.session(), token)
    return _render_confirm(link, token)


@bp.post("/confirm/<token>")
def confirm(token: str):
    """Confirm, then show the confirmed page (post/redirect/get)."""
    link = confirmations.confirm(db.session(), token, _clicked())
    if link.state is LinkState.CONFIRMED:
        return redirect(url_for("links.confirm_page", token=token), 303)
    return _render_confirm(link, token)


@bp.post("/confirm/<token>/renew")
def renew(token: str):
    """Send a new confirmation link for an expired or replaced one."""
    link = confirmations.renew(db.session(), token, _clicked())
    return render_template("links/renewed.html", newsletters=link.newsletters())


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    """The page with the "Unsubscribe" button."""
    link = subscriptions.inspect_unsubscribe_link(db.session(), token)
    return _render("links/unsubscribe.html", link, token)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Unsubscribe, from the page's button or a mail provider's one-click POST."""
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    channel = "one-click" if one_click else "link"
    link = subscriptions.unsubscribe(db.session(), token, _clicked(), channel)
    return _render("links/unsubscribe.html", link, token)


def _clicked() -> Evidence:
    """Who followed the link. A token that is not ours, or whose subscription is gone, is
    refused by the domain (:class:`~newsletter.subscriptions.InvalidLink`): a 404."""
    # The Referer of a link page is our own page: no source URL worth keeping.
    return evidence.from_request("link", source_url="")


def _render_confirm(link: ConfirmLink, token: str):
    """Render a confirm page in the state the link found its subscriptions in, naming
    the newsletters that state is about."""
    state = link.state
    about = confirmations.RENEWABLE if state in confirmations.RENEWABLE else (state,)
    shown = link.newsletters(*about)
    page = render_template("links/confirm.html", newsletters=shown, state=state.value, token=token)
    return page, STATUS.get(state, 200)


def _render(template: str, link: Link, token: str):
    """Render a link page in the state the link found the subscription in."""
    page = render_template(
        template,
        subscription=link.subscription,
        newsletter=link.subscription.newsletter,
        state=link.state.value,
        token=token,
        manage_token=link_tokens.make_manage_token(
            current_app.config["SECRET_KEY"], link.subscription.reader.public_id
        ),
    )
    return page, STATUS.get(link.state, 200)
