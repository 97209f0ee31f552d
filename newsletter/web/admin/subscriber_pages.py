"""``/admin/newsletters/<slug>``: find a newsletter's subscribers, see their evidence, help them.

The actions (resend the confirmation, unsubscribe, erase) are POST forms with the session's
CSRF token; each answers with a 303 back to a page and a flashed message. Erasing, the one
that cannot be undone, has a page of its own first: the subscriber page links to it, it
spells out what will be deleted, and only its form erases (no JavaScript needed).

An editor sees the reader's other subscriptions only in newsletters they may see, and may
erase only a reader all of whose newsletters they edit (the erasure reaches them all).
"""

import logging

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from newsletter import audit
from newsletter import db
from newsletter import list_management
from newsletter.access_models import AuditAction
from newsletter.models import Newsletter
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.roles import Need
from newsletter.web import erasing
from newsletter.web.admin import bp
from newsletter.web.admin.access import current_access
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.admin.forms import subscriber_filters
from newsletter.web.evidence import client_ip

# What the page says of a bounced subscription, where it offers the others' unsubscribe.
BOUNCED = (
    "This address bounced: nothing is sent to it, so there is nothing to unsubscribe. It "
    "stays bounced until the reader signs up again."
)

log = logging.getLogger(__name__)


@bp.get("/newsletters/<slug>", endpoint="subscribers")
@requires(Need.EDIT)
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
@requires(Need.EDIT)
def subscriber(newsletter: Newsletter, public_id: str):
    """One subscriber: the evidence of their consent, their history, and the actions."""
    subscription = _subscription_or_404(newsletter, public_id)
    visible, hidden = _visible(_reader_subscriptions(subscription))
    return render_template(
        "admin/subscriber.html",
        newsletter=newsletter,
        subscription=subscription,
        history=list_management.history(db.session(), subscription),
        reader_subscriptions=visible,
        hidden_subscriptions=hidden,
        bounced=BOUNCED,
    )


@bp.post("/newsletters/<slug>/subscribers/<public_id>/resend")
@requires(Need.EDIT)
def resend(newsletter: Newsletter, public_id: str):
    """Queue the confirmation email again, for a pending reader who lost it."""
    subscription = _subscription_or_404(newsletter, public_id)
    if list_management.resend_confirmation(db.session(), subscription, who()):
        flash("The confirmation email was queued again.", "success")
    else:
        flash("Only a pending subscriber can be sent the confirmation again.", "error")
    return _back_to(newsletter, subscription)


@bp.post("/newsletters/<slug>/subscribers/<public_id>/unsubscribe")
@requires(Need.EDIT)
def unsubscribe(newsletter: Newsletter, public_id: str):
    """Unsubscribe a reader who asked an editor to do it for them."""
    subscription = _subscription_or_404(newsletter, public_id)
    if list_management.unsubscribe(db.session(), subscription, who()):
        flash("Unsubscribed. No more newsletters will be sent to this address.", "success")
    elif subscription.status is SubscriptionStatus.BOUNCED:
        flash(BOUNCED, "error")
    else:
        flash("This subscriber is unsubscribed already.", "error")
    return _back_to(newsletter, subscription)


@bp.get("/newsletters/<slug>/subscribers/<public_id>/erase", endpoint="confirm_erase")
@requires(Need.EDIT)
def confirm_erase(newsletter: Newsletter, public_id: str):
    """The step before erasing: what will be deleted, in every newsletter, and the button."""
    subscription = _subscription_or_404(newsletter, public_id)
    every = _reader_subscriptions(subscription)
    visible, hidden = _visible(every)
    return render_template(
        "admin/erase.html",
        newsletter=newsletter,
        subscription=subscription,
        reader_subscriptions=visible,
        hidden_subscriptions=hidden,
        may_erase=_may_erase(every),
    )


@bp.post("/newsletters/<slug>/subscribers/<public_id>/erase")
@requires(Need.EDIT)
def erase(newsletter: Newsletter, public_id: str):
    """Right to erasure: the reader, in every newsletter, and everything about them leave
    the database."""
    subscription = _subscription_or_404(newsletter, public_id)
    every = _reader_subscriptions(subscription)
    if not _may_erase(every):
        abort(403)
    reader = subscription.reader
    address = reader.email
    erased = len(every)
    list_management.erase(db.session(), reader)
    audit.record(
        db.session(),
        who(),
        AuditAction.ERASURE,
        newsletter=newsletter.slug,
        ip=client_ip(),
        subscriptions=erased,
    )
    # Once the rows are gone: no copy left in SQLite's WAL, nor in the mail folder.
    erasing.forget_copies_after_commit(address)
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


def _reader_subscriptions(subscription: Subscription) -> list[Subscription]:
    """Every subscription of the subscription's reader, in any newsletter."""
    return list_management.reader_subscriptions(db.session(), subscription.reader)


def _visible(every: list[Subscription]) -> tuple[list[Subscription], int]:
    """The subscriptions in newsletters the caller may see, and how many others."""
    access = current_access()
    visible = [s for s in every if access.may(Need.VIEW, s.newsletter)]
    return visible, len(every) - len(visible)


def _may_erase(every: list[Subscription]) -> bool:
    """Whether the caller edits every newsletter of ``every`` (the reader's subscriptions:
    an erasure takes the reader from all of them)."""
    access = current_access()
    return all(access.may(Need.EDIT, s.newsletter) for s in every)


def _back_to(newsletter: Newsletter, subscription: Subscription):
    """303 to the subscriber's page, where the flashed message says what happened."""
    target = url_for("admin.subscriber", slug=newsletter.slug, public_id=subscription.public_id)
    return redirect(target, 303)
