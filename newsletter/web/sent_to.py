"""What the success message says about the signup: the address, masked, and its webmail.

"We've sent a confirmation email to r***@gmail.com", with "Open Gmail" beside it, lets a
reader see a typo at once and go to their mailbox. The address is only what the reader
typed, normalised and masked (:func:`~newsletter.addresses.mask_for_reader`); nothing is
looked up, so the answer is the same whatever the address's state (no enumeration).

The JSON API puts it in its 202 answer. Our page and the iframe answer a signup with a
303 to their thank-you page (post/redirect/get), which learns the address from the
redirect's ``sent_to`` parameter: the iframe has no cookie to carry it (third-party
cookies are blocked), so neither surface uses one. The parameter is signed with the app's
key and a salt of its own, names the newsletter, and expires after ten minutes, so no one
can send a link that makes our page show words of their choosing (phishing). Without a
valid parameter the page shows the generic thanks.

After a signup to several newsletters the parameter names the chosen ones (their slugs,
in the listing order) instead of one, and the thank-you page lists them; without a valid
one it thanks for "these newsletters".
"""

from dataclasses import dataclass

from flask import current_app
from flask import request
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

from newsletter import addresses
from newsletter.web.forms import SignupFields
from newsletter.webmail import Webmail
from newsletter.webmail import webmail_for

SALT = "newsletter.sent-to"
MAX_AGE_SECONDS = 10 * 60  # long enough for a slow redirect, too short to spread a link


@dataclass(frozen=True)
class SentTo:
    """The masked address the confirmation went to, and its webmail if well known."""

    address: str
    webmail: Webmail | None

    @classmethod
    def masked(cls, address: str) -> "SentTo":
        """From a masked address (its domain picks the webmail)."""
        return cls(address, webmail_for(address))


def of(form: SignupFields) -> SentTo | None:
    """What a successful signup's answer echoes; None when the form's address is not one
    (a bot that filled the honeypot gets the generic thanks)."""
    if form.email.errors:
        return None
    return of_address(form.email.data)


def of_address(address: str) -> SentTo:
    """What the answer to a valid signup of ``address`` (normalised) echoes."""
    return SentTo.masked(addresses.mask_for_reader(address))


def as_json(sent: SentTo | None) -> dict:
    """The fields the API's 202 answer adds."""
    if sent is None:
        return {"sent_to": None, "webmail": None}
    return {
        "sent_to": sent.address,
        "webmail": sent.webmail._asdict() if sent.webmail else None,
    }


def signed(sent: SentTo | None, about: str | list[str]) -> str | None:
    """The thank-you page's ``sent_to`` parameter, for the newsletter ``about`` names (a
    slug) or the ones it lists (None, and so no parameter, for the generic thanks)."""
    if sent is None:
        return None
    return _serializer().dumps([about, sent.address])


def from_request(slug: str) -> SentTo | None:
    """The address the thank-you page's parameter names, if it is ours, fresh, and for
    this newsletter."""
    match _payload():
        case [str() as signed_slug, str() as address] if signed_slug == slug:
            return SentTo.masked(address)
    return None


def several_from_request() -> tuple[list[str], SentTo] | None:
    """The newsletters (slugs) and address the thank-you page's parameter names, if it
    is ours, fresh, and from a signup to several newsletters."""
    match _payload():
        case [list() as slugs, str() as address] if all(isinstance(slug, str) for slug in slugs):
            return slugs, SentTo.masked(address)
    return None


def _payload() -> object:
    """The thank-you page's parameter as we signed it; None if it is not ours or too old."""
    try:
        return _serializer().loads(request.args.get("sent_to", ""), max_age=MAX_AGE_SECONDS)
    except BadData:
        return None


def _serializer() -> URLSafeTimedSerializer:
    """Signs with the app's key, salted for this one purpose."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)
