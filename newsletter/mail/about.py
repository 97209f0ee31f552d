"""What every email says about itself: who writes, why the reader gets it, how to answer.

A reader who does not remember signing up deletes or reports an email that does not say
so; CAN-SPAM asks commercial mail for the sender's postal address. So each email names
the publisher and its site and a contact address (``PUBLISHER_NAME``, ``PUBLISHER_URL``,
``CONTACT_ADDRESS``, by default taken from ``MAIL_FROM`` and ``PUBLIC_URL``); the
confirmation and the welcome say "you (r***@example.com) signed up at <page> on <date>";
the welcome and later mail carry the postal address (``POSTAL_ADDRESS``, shown only when
set). The address is masked as on the success page: whoever the email is forwarded to
does not learn it. The page is shown as its host and path only: a query string may carry
a campaign's or a reader's identifiers.
"""

from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_date

from newsletter import addresses
from newsletter.models import Subscription


@dataclass(frozen=True)
class Publisher:
    """Who writes: the name, the site (its URL and how it is shown), the contact
    address, and the postal address (empty when not configured)."""

    name: str
    url: str
    site: str
    contact: str
    postal_address: str


@dataclass(frozen=True)
class SignedUp:
    """Why the reader gets the email: their address (masked), the page (host and path, or
    empty for a signup with no page, such as the API's) and the day of the signup, in the
    language being rendered."""

    address: str
    page: str
    day: str


def publisher() -> Publisher:
    """The publisher as configured, with the defaults README gives."""
    config = current_app.config
    sender_name, sender_address = parseaddr(config["MAIL_FROM"])
    url = config["PUBLISHER_URL"] or config["PUBLIC_URL"]
    return Publisher(
        name=config["PUBLISHER_NAME"] or sender_name or shown_page(url),
        url=url,
        site=shown_page(url),
        contact=config["CONTACT_ADDRESS"] or sender_address,
        postal_address=" ".join(config["POSTAL_ADDRESS"].split()),
    )


def signed_up(subscription: Subscription) -> SignedUp:
    """What the reader did, from the subscription's consent evidence."""
    return SignedUp(
        address=addresses.mask_for_reader(subscription.email),
        page=shown_page(subscription.source_url or ""),
        # "30 листопада 2026 р.": the sentence gives the full stop.
        day=format_date(subscription.signup_at, format="long").rstrip("."),
    )


def shown_page(url: str) -> str:
    """``https://example.org/news/article?utm=x`` as ``example.org/news/article``."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path}".rstrip("/")
