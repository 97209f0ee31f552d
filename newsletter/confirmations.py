"""Confirmation emails: one per signup, whose one button confirms what the signup asked.

A signup to several newsletters sends one email naming every newsletter whose
subscription waits for a confirmation (``subscriptions.subscribe_to_all``); a signup to
one sends one for that one. Each email is a :class:`~newsletter.models.Confirmation`
covering (subscription, round) pairs, and its link names the confirmation. The button
confirms exactly those subscriptions still pending in that round; the others are left
as they are (a confirmed one is not confirmed again, an unsubscribed one stays so).

Links sent before confirmations existed name one subscription and its round
(``newsletter.link_tokens``); they are read here as a confirmation of that one.

What a link shows, of all the subscriptions it covers (the first that applies):
``ready`` if one can still be confirmed; ``confirmed`` if one was; ``expired`` or
``superseded`` (a new link can be asked for); ``unsubscribed``.

Functions take the caller's session and never commit, like ``newsletter.subscriptions``
(whose ``queue_confirmation`` writes a confirmation and its email).
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import link_tokens
from newsletter import subscriptions
from newsletter.models import Confirmation
from newsletter.models import ConfirmationItem
from newsletter.models import EventKind
from newsletter.models import Newsletter
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions import Evidence
from newsletter.subscriptions import InvalidLink
from newsletter.subscriptions import LinkState

# Which state a link shows, of those of the subscriptions it covers: the first present.
SHOWN_FIRST = (
    LinkState.READY,
    LinkState.CONFIRMED,
    LinkState.EXPIRED,
    LinkState.SUPERSEDED,
    LinkState.UNSUBSCRIBED,
)
RENEWABLE = (LinkState.EXPIRED, LinkState.SUPERSEDED)


@dataclass(frozen=True)
class Covered:
    """A subscription a confirm link covers, and the state the link finds it in."""

    subscription: Subscription
    state: LinkState


@dataclass(frozen=True)
class ConfirmLink:
    """What a confirm link covers, in the email's order."""

    covered: list[Covered]

    @property
    def state(self) -> LinkState:
        """The state the page shows (see the module's docstring)."""
        present = {item.state for item in self.covered}
        return next(state for state in SHOWN_FIRST if state in present)

    def newsletters(self, *states: LinkState) -> list[Newsletter]:
        """The newsletters of the covered subscriptions in these states (all if none given)."""
        return [
            item.subscription.newsletter
            for item in self.covered
            if not states or item.state in states
        ]


def inspect(session: Session, token: str) -> ConfirmLink:
    """What ``GET /confirm/<token>`` shows; changes nothing (mail scanners fetch links)."""
    return _read(session, token)


def confirm(session: Session, token: str, evidence: Evidence) -> ConfirmLink:
    """Confirm every covered subscription the link is ready for; a repeat is harmless.
    Queues each newsletter's welcome email once (each with its own unsubscribe link)."""
    link = _read(session, token, lock=True)
    confirmed = []
    for item in link.covered:
        if item.state is LinkState.READY:
            subscriptions.mark_confirmed(session, item.subscription, evidence)
            item = Covered(item.subscription, LinkState.CONFIRMED)
        confirmed.append(item)
    return ConfirmLink(confirmed)


def renew(session: Session, token: str, evidence: Evidence) -> ConfirmLink:
    """Send one fresh confirmation for the covered subscriptions whose link expired or was
    superseded (each throttled; silent)."""
    link = _read(session, token, lock=True)
    renewable = [
        item.subscription
        for item in link.covered
        if item.state in RENEWABLE and subscriptions.may_send_confirmation(item.subscription)
    ]
    for subscription in renewable:
        subscriptions.record_event(session, subscription, EventKind.CONFIRMATION_RENEWED, evidence)
    if renewable:
        subscriptions.queue_confirmation(session, renewable)
    return link


def _read(session: Session, token: str, *, lock: bool = False) -> ConfirmLink:
    """What a confirm link covers, each subscription judged against the round it was
    sent for; locked when the caller is about to change them. :class:`InvalidLink` for a
    token that is not ours or names nothing that still exists."""
    claim = _read_token(token)
    rounds = _rounds(session, claim)
    query = select(Subscription).where(Subscription.id.in_(rounds)).order_by(Subscription.id)
    if lock:
        query = query.with_for_update()
    by_id = {subscription.id: subscription for subscription in session.scalars(query)}
    covered = [
        Covered(by_id[subscription_id], _state(by_id[subscription_id], round_, claim.expired))
        for subscription_id, round_ in rounds.items()
        if subscription_id in by_id
    ]
    if not covered:
        raise InvalidLink
    return ConfirmLink(covered)


def _state(subscription: Subscription, round_: int, expired: bool) -> LinkState:
    """Judge a confirm link against one subscription's current state and round."""
    if subscription.status is SubscriptionStatus.UNSUBSCRIBED:
        return LinkState.UNSUBSCRIBED
    if round_ != subscription.confirmation_round:
        # A link from an earlier round never confirms a later signup.
        return LinkState.SUPERSEDED
    if subscription.status is SubscriptionStatus.CONFIRMED:
        return LinkState.CONFIRMED
    return LinkState.EXPIRED if expired else LinkState.READY


def _rounds(session: Session, claim: link_tokens.ConfirmClaim) -> dict[int, int]:
    """The subscriptions the claim covers, in the email's order, with the round each was
    sent for."""
    if claim.round is not None:
        # A link sent before confirmations existed: one subscription, by its public id.
        subscription_id = session.scalar(
            select(Subscription.id).where(Subscription.public_id == claim.public_id)
        )
        return {} if subscription_id is None else {subscription_id: claim.round}
    rows = session.execute(
        select(ConfirmationItem.subscription_id, ConfirmationItem.confirmation_round)
        .join(Confirmation)
        .where(Confirmation.public_id == claim.public_id)
        .order_by(ConfirmationItem.position)
    )
    return {subscription_id: round_ for subscription_id, round_ in rows}


def _read_token(token: str) -> link_tokens.ConfirmClaim:
    """The claim of a confirm token, or :class:`InvalidLink`."""
    try:
        return link_tokens.read_confirm_token(
            current_app.config["SECRET_KEY"], token, current_app.config["CONFIRM_TOKEN_MAX_AGE"]
        )
    except link_tokens.InvalidToken as error:
        raise InvalidLink from error
