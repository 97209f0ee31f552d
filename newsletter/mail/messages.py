"""The emails a subscriber gets, rendered from ``templates/email/<name>.txt`` and ``.html``."""

import secrets
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from flask import current_app
from flask import render_template

from newsletter import addresses
from newsletter import tokens
from newsletter.models import Subscription

# Headers are folded at RFC 5322's hard limit, not the usual 78: a long header without
# spaces, such as List-Unsubscribe's URL, would otherwise be RFC 2047-encoded, and mail
# providers then cannot read the one-click link.
ASCII_POLICY = policy.SMTP.clone(max_line_length=998)
UTF8_POLICY = policy.SMTPUTF8.clone(max_line_length=998)


def confirm_url(subscription: Subscription) -> str:
    """The link that confirms the subscription's current double opt-in round."""
    token = tokens.make_confirm_token(
        current_app.secret_key, subscription.public_id, subscription.confirmation_round
    )
    return f"{current_app.config['PUBLIC_URL']}/confirm/{token}"


def unsubscribe_url(subscription: Subscription) -> str:
    """The link that unsubscribes, in every email to a subscriber; it never expires."""
    token = tokens.make_unsubscribe_token(current_app.secret_key, subscription.public_id)
    return f"{current_app.config['PUBLIC_URL']}/unsubscribe/{token}"


def confirmation(subscription: Subscription) -> EmailMessage:
    """Ask the address's owner to confirm; says what to do if they never signed up."""
    name = subscription.newsletter.name
    return _render(
        "confirmation",
        subscription,
        subject=f"Confirm your subscription to {name}",
        confirm_url=confirm_url(subscription),
        valid_days=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400,
    )


def welcome(subscription: Subscription) -> EmailMessage:
    """Greet a confirmed subscriber, with one-click unsubscribe (RFC 8058) in the headers."""
    link = unsubscribe_url(subscription)
    message = _render(
        "welcome",
        subscription,
        subject=f"Welcome to {subscription.newsletter.name}",
        unsubscribe_url=link,
    )
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _render(template: str, subscription: Subscription, *, subject: str, **context) -> EmailMessage:
    """Build a two-part (text and HTML) message to the subscriber."""
    recipient = addresses.for_transport(subscription.email)
    # Only an internationalised local part needs SMTPUTF8; everything else stays 7-bit.
    message = EmailMessage(policy=ASCII_POLICY if recipient.isascii() else UTF8_POLICY)
    message["Subject"] = subject
    message["From"] = subscription.newsletter.sender or current_app.config["MAIL_FROM"]
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = _message_id(template)
    context.update(newsletter=subscription.newsletter, public_url=current_app.config["PUBLIC_URL"])
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return message


def _message_id(kind: str) -> str:
    """A unique Message-ID, fixed when queued so that every retry carries the same one."""
    domain = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<{kind}.{secrets.token_hex(12)}@{domain}>"
