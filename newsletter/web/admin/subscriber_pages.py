"""``/admin/newsletters/<slug>``: find a newsletter's subscribers, see their evidence, help them.

The actions (resend the confirmation, unsubscribe, erase) are POST forms with the session's
CSRF token; each answers with a 303 back to a page and a flashed message. Erasing, the one
that cannot be undone, has a page of its own first: the subscriber page links to it, it
spells out what will be deleted, and only its form erases (no JavaScript needed).
"""

import logging

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from newsletter import db
from newsletter import list_management
from newsletter.mail import transports
from newsletter.models import Newsletter
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.web.admin import bp
from newsletter.web.admin.auth import who
from newsletter.web.admin.forms import subscriber_filters

log = logging.getLogger(__name__)


@bp.get("/newsletters/<slug>", endpoint="subscribers")
def subscribers_list(newsletter: Newsletter):
    """Newest first, searchable by address, filtered by status, paged by keyset."""
    query, status, complained, before = subscriber_filters(request.args)
    listing = list_management.page(
        db.session(), newsletter, status=status, complained=complained, query=query, before=before
    )
    return render_template(
        "admin/subscribers.html",
        newsletter=newsletter,
        page=listing,
        query=query,
        status=status,
        complained=complained,
        before=before,
        statuses=list(SubscriptionStatus),
    )


@bp.get("/newsletters/<slug>/subscribers/<public_id>")
def subscriber(newsletter: Newsletter, public_id: str):
    """One subscriber: the evidence of their consent, their history, and the actions."""
    subscription = _subscription_or_404(newsletter, public_id)
    session = db.session()
    return render_template(
        "admin/subscriber.html",
        newsletter=newsletter,
        subscription=subscription,
        history=list_management.history(session, subscription),
        reader_subscriptions=list_management.reader_subscriptions(session, subscription.reader),
    )


@bp.post("/newsletters/<slug>/subscribers/<public_id>/resend")
def resend(newsletter: Newsletter, public_id: str):
    """Queue the confirmation email again, for a pending reader who lost it."""
    subscription = _subscription_or_404(newsletter, public_id)
    if list_management.resend_confirmation(db.session(), subscription, who()):
        flash("The confirmation email was queued again.", "success")
    else:
        flash("Only a pending subscriber can be sent the confirmation again.", "error")
    return _back_to(newsletter, subscription)


@bp.post("/newsletters/<slug>/subscribers/<public_id>/unsubscribe")
def unsubscribe(newsletter: Newsletter, public_id: str):
    """Unsubscribe a reader who asked an editor to do it for them."""
    subscription = _subscription_or_404(newsletter, public_id)
    if list_management.unsubscribe(db.session(), subscription, who()):
        flash("Unsubscribed. No more newsletters will be sent to this address.", "success")
    else:
        flash("This subscriber is unsubscribed already.", "error")
    return _back_to(newsletter, subscription)


@bp.get("/newsletters/<slug>/subscribers/<public_id>/erase", endpoint="confirm_erase")
def confirm_erase(newsletter: Newsletter, public_id: str):
    """The step before erasing: what will be deleted, in every newsletter, and the button."""
    subscription = _subscription_or_404(newsletter, public_id)
    return render_template(
        "admin/erase.html",
        newsletter=newsletter,
        subscription=subscription,
        reader_subscriptions=list_management.reader_subscriptions(
            db.session(), subscription.reader
        ),
    )


@bp.post("/newsletters/<slug>/subscribers/<public_id>/erase")
def erase(newsletter: Newsletter, public_id: str):
    """Right to erasure: the reader, in every newsletter, and everything about them leave
    the database."""
    reader = _subscription_or_404(newsletter, public_id).reader
    address = reader.email
    list_management.erase(db.session(), reader)
    # Once the rows are gone: no copy left in SQLite's WAL, nor in the mail folder.
    db.after_commit(db.database().checkpoint)
    db.after_commit(lambda: transports.app_transport().forget(address))
    # On the record, without the address: that is what was erased.
    log.info("A reader was erased from %s's admin page by %s", newsletter.slug, who())
    flash(
        "Erased. The address, its subscriptions to every newsletter, their consent evidence "
        "and history are gone.",
        "success",
    )
    return redirect(url_for("admin.subscribers", slug=newsletter.slug), 303)


def _subscription_or_404(newsletter: Newsletter, public_id: str) -> Subscription:
    """The newsletter's subscriber the URL names, or 404."""
    subscription = list_management.get(db.session(), newsletter, public_id)
    if subscription is None:
        abort(404)
    return subscription


def _back_to(newsletter: Newsletter, subscription: Subscription):
    """303 to the subscriber's page, where the flashed message says what happened."""
    target = url_for("admin.subscriber", slug=newsletter.slug, public_id=subscription.public_id)
    return redirect(target, 303)
