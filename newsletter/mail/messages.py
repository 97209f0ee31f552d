"""The emails a reader gets, rendered from ``templates/email/<name>.txt`` and ``.html``.

A message is rendered once, when it is queued, in the transaction of the change that
caused it; the worker sends the stored text as it is. The MIME text is put together here
directly (headers, then a ``multipart/alternative`` of the two parts in UTF-8
quoted-printable) instead of with :class:`email.message.EmailMessage`: the modern
``email`` package parses every header it is given and folds and encodes the whole tree
again on output, which was half the CPU of a signup. Only what varies per subscriber is
done per message; the ``From`` header is rendered by the stdlib once per distinct sender.
"""

import binascii
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from email.utils import parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app
from flask import render_template
from flask_babel import gettext as _

from newsletter import addresses
from newsletter import branding
from newsletter import languages
from newsletter import link_tokens
from newsletter.mail import about
from newsletter.models import MessageKind
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription

# Headers are folded at RFC 5322's hard limit, not the usual 78: a long header without
# spaces, such as List-Unsubscribe's URL, would otherwise be RFC 2047-encoded, and mail
# providers then cannot read the one-click link.
ASCII_POLICY = policy.SMTP.clone(max_line_length=998)
UTF8_POLICY = policy.SMTPUTF8.clone(max_line_length=998)
# Stored as it goes over the wire: lines end in CRLF.
CRLF = "\r\n"
# RFC 3834: mail a program sent on its own, not a person; auto-responders must not answer
# it (an out-of-office reply to a confirmation would go to our sender).
AUTO_SUBMITTED = "Auto-Submitted: auto-generated"
# Where headers with RFC 2047 encoded words are folded: a continuation line is a space and
# one encoded word, so the word stays within RFC 2047's cap of 75 characters.
ENCODED_LINE_LENGTH = 76
SENDERS_CACHED = 256


@dataclass(frozen=True)
class Rendered:
    """A message ready for the outbox: its envelope, its Message-ID and its full text."""

    kind: MessageKind
    sender: str
    recipient: str
    message_id: str
    raw: str


def confirm_url(confirmation_public_id: str) -> str:
    """The link whose one button confirms what the confirmation covers."""
    token = link_tokens.make_confirmation_token(
        current_app.config["SECRET_KEY"], confirmation_public_id
    )
    return f"{current_app.config['PUBLIC_URL']}/confirm/{token}"


def unsubscribe_url(subscription: Subscription) -> str:
    """The link that unsubscribes, in every email to a subscriber; it never expires."""
    token = link_tokens.make_unsubscribe_token(
        current_app.config["SECRET_KEY"], subscription.public_id
    )
    return f"{current_app.config['PUBLIC_URL']}/unsubscribe/{token}"


def manage_url(reader: Reader) -> str:
    """The link to the reader's manage page, in every email after confirmation; it never
    expires."""
    token = link_tokens.make_manage_token(current_app.config["SECRET_KEY"], reader.public_id)
    return f"{current_app.config['PUBLIC_URL']}/manage/{token}"


def confirmation(covered: list[Subscription], confirmation_public_id: str) -> Rendered:
    """Ask the address's owner to confirm the subscriptions of one signup (one reader's,
    in the form's order) with one button; says what to do if they never signed up.

    No List-Unsubscribe: nobody is subscribed to anything until they press the button,
    and ignoring the email is the way out; the welcome emails, one per newsletter, carry
    each newsletter's own one-click link.
    """
    chosen = [subscription.newsletter for subscription in covered]
    with languages.rendered_in(covered[0].language):
        return _render(
            MessageKind.CONFIRMATION,
            covered[0],
            subject=_("Confirm your subscription to %(names)s", names=_names(chosen)),
            sender=_common_sender(chosen),
            extra_headers=(AUTO_SUBMITTED,),
            newsletters=chosen,
            # One newsletter's brand; several newsletters' email is the service's.
            brand=chosen[0] if len(chosen) == 1 else None,
            confirm_url=confirm_url(confirmation_public_id),
            valid_days=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400,
            signed_up=about.signed_up(covered[0]),
        )


def welcome(subscription: Subscription) -> Rendered:
    """Greet a confirmed subscriber, with one-click unsubscribe (RFC 8058) in the headers."""
    link = unsubscribe_url(subscription)
    # Each on one line, unencoded, whatever its length: see ASCII_POLICY. List-Id (RFC
    # 2919) names the list: mail filters, and SpamAssassin, expect it beside an unsubscribe.
    list_headers = (
        f"List-Id: <{subscription.newsletter.slug}.{_public_host()}>",
        f"List-Unsubscribe: <{_checked(link)}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    )
    with languages.rendered_in(subscription.language):
        return _render(
            MessageKind.WELCOME,
            subscription,
            subject=_("Welcome to %(name)s", name=languages.shown_name(subscription.newsletter)),
            extra_headers=list_headers,
            unsubscribe_url=link,
            manage_url=manage_url(subscription.reader),
            signed_up=about.signed_up(subscription),
            postal=True,
        )


def manage_link(subscription: Subscription) -> Rendered:
    """The manage link the reader of ``subscription`` asked for at ``/manage``, in that
    subscription's language, from the service's own sender.

    No List-Unsubscribe: the reader asked for this one email, and it is about all their
    newsletters, where each newsletter's own email unsubscribes from that one only.
    """
    with languages.rendered_in(subscription.language):
        return _compose(
            MessageKind.MANAGE_LINK,
            subscription.reader.email,
            current_app.config["MAIL_FROM"],
            subject=_("Your subscriptions"),
            extra_headers=(AUTO_SUBMITTED,),
            context={"manage_url": manage_url(subscription.reader), "postal": True},
        )


def erasure_notice(email: str) -> Rendered:
    """Tell a reader who pressed "Erase me" that it was done, in the language of the page
    they pressed it on, from the service's own sender (they left every newsletter)."""
    return _compose(
        MessageKind.ERASURE_NOTICE,
        email,
        current_app.config["MAIL_FROM"],
        subject=_("Your data has been erased"),
        # The publisher's postal address, as in every email after consent.
        context={"postal": True},
    )


def signup_wave(editor_email: str, newsletter: Newsletter, signups: int, usual: float) -> Rendered:
    """Tell an editor that signups to ``newsletter`` came far above their usual rate (in
    English, as the admin is), with the link to its newest subscribers."""
    admin_url = f"{current_app.config['PUBLIC_URL']}/admin/newsletters/{newsletter.slug}"
    with languages.rendered_in("en"):
        return _compose(
            MessageKind.SIGNUP_WAVE,
            editor_email,
            current_app.config["MAIL_FROM"],
            subject=f"A wave of signups to {newsletter.name}",
            extra_headers=(AUTO_SUBMITTED,),
            context={
                "newsletter": newsletter,
                "signups": signups,
                "usual": f"{usual:.1f}".removesuffix(".0"),
                "admin_url": admin_url,
            },
        )


def _names(chosen: list[Newsletter]) -> str:
    """ "A", "A and B", "A, B and C" (in the language being rendered: "A, B і C")."""
    *others, last = [languages.shown_name(newsletter) for newsletter in chosen]
    if not others:
        return last
    return _("%(others)s and %(last)s", others=", ".join(others), last=last)


def _common_sender(chosen: list[Newsletter]) -> str:
    """The newsletters' sender if they share one, else the service's: an email about
    several newsletters may not pretend to come from one of them alone."""
    senders = {newsletter.sender for newsletter in chosen}
    return senders.pop() if len(senders) == 1 else ""


def _render(
    kind: MessageKind,
    subscription: Subscription,
    *,
    subject: str,
    sender: str | None = None,
    extra_headers: tuple[str, ...] = (),
    **context,
) -> Rendered:
    """Build a two-part (text and HTML) message to the subscriber, from ``sender`` (by
    default the subscription's newsletter's; empty: the service's ``MAIL_FROM``)."""
    newsletter = subscription.newsletter
    context.setdefault("brand", newsletter)
    context.update(newsletter=newsletter)
    chosen_sender = newsletter.sender if sender is None else sender
    return _compose(
        kind,
        subscription.email,
        chosen_sender or current_app.config["MAIL_FROM"],
        subject=subject,
        extra_headers=extra_headers,
        context=context,
    )


def _compose(
    kind: MessageKind,
    email: str,
    sender_value: str,
    *,
    subject: str,
    extra_headers: tuple[str, ...] = (),
    context: dict,
) -> Rendered:
    """Build a two-part (text and HTML) message to ``email`` from ``sender_value``."""
    recipient = addresses.for_transport(email)
    from_header, sender = _sender(sender_value)
    message_id = _message_id(kind)
    context.setdefault("signed_up", None)
    context.setdefault("postal", False)
    context.setdefault("brand", None)
    brand = context["brand"]
    context["accent"] = branding.accent(brand) if brand else branding.DEFAULT_ACCENT
    context.update(
        public_url=current_app.config["PUBLIC_URL"],
        language=languages.current(),
        subject=subject,
        publisher=about.publisher(),
    )
    text = render_template(f"email/{kind}.txt", **context)
    html = render_template(f"email/{kind}.html", **context)
    # Quoted-printable never writes a bare "=", so no encoded line can be the boundary.
    boundary = f"==============={secrets.token_hex(8)}=="
    lines = [
        f"Subject: {_encoded('Subject', subject)}",
        from_header,
        f"To: {_checked(recipient)}",
        # RFC 5322's numeric zone; "GMT" is only the obsolete syntax.
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {message_id}",
        *extra_headers,
        "MIME-Version: 1.0",
        # Folded: on one line it is 81 characters, past RFC 5322's recommended 78.
        "Content-Type: multipart/alternative;",
        f' boundary="{boundary}"',
        "",
        _part(boundary, "plain", text),
        _part(boundary, "html", html),
        f"--{boundary}--",
        "",
    ]
    return Rendered(kind, sender, recipient, message_id, CRLF.join(lines))


def _part(boundary: str, subtype: str, content: str) -> str:
    """One body part in UTF-8 quoted-printable, after its boundary line."""
    if not content.endswith("\n"):
        content += "\n"
    body = binascii.b2a_qp(content.encode("utf-8"), istext=True).decode("ascii")
    return CRLF.join(
        (
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            body.replace("\n", CRLF),
        )
    )


def _encoded(name: str, value: str) -> str:
    """A header's unstructured text: as it is if ASCII, else RFC 2047 encoded words, folded
    into lines of one word each after the header's name."""
    _checked(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", ENCODED_LINE_LENGTH, header_name=name).encode(linesep=CRLF)


def _checked(value: str) -> str:
    """A header value, refused if a line break in it could start a header of its own."""
    if "\n" in value or "\r" in value:
        raise ValueError("a header value may not contain a line break")
    return value


@lru_cache(maxsize=SENDERS_CACHED)
def _sender(value: str) -> tuple[str, str]:
    """The ``From`` header line for a sender, as the stdlib renders it, and its address
    (with the domain in its ASCII form, as for a recipient).

    A sender changes only when an editor edits a newsletter, so the parsing and encoding
    of its address header is done once per distinct value.
    """
    name, address = parseaddr(value)
    address = addresses.for_transport(address)
    # Folded short, unlike List-Unsubscribe: a non-ASCII display name is encoded words.
    message_policy = ASCII_POLICY if address.isascii() else UTF8_POLICY
    message = EmailMessage(policy=message_policy.clone(max_line_length=ENCODED_LINE_LENGTH))
    local, _, domain = address.rpartition("@")
    message["From"] = Address(display_name=name, username=local, domain=domain)
    return message.policy.fold("From", message["From"]).rstrip(CRLF), address


def _message_id(kind: str) -> str:
    """A unique Message-ID, fixed when queued so that every retry carries the same one."""
    return f"<{kind}.{secrets.token_hex(12)}@{_public_host()}>"


def _public_host() -> str:
    """The service's host name, from its public URL: the domain of our identifiers."""
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
