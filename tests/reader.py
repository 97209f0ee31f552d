"""What a reader does, step by step, through the HTTP surface only."""

import re
from email.message import EmailMessage
from html import unescape

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from newsletter.db import database
from newsletter.models import Subscription

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# A link's path, whatever the service's PUBLIC_URL (https://news.example.org here).
LINK = re.compile(r"https://[^/\s\"<>]+(/[^\s\"<>]+)")
TAG = re.compile(r"<[^>]*>")
SLUG = "explaining-ukraine"
# The success message once reader@example.com signed up: the address shown masked.
SENT_TO_READER = (
    "Thank you for signing up for this newsletter. "
    "We've sent a confirmation email to r***@example.com."
)


def csrf_token(html: str) -> str:
    """The CSRF token a rendered form carries."""
    match = CSRF_FIELD.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_up(client, email: str, slug: str = SLUG, **headers):
    """Open the newsletter's page, fill the form, submit it; returns the POST's response."""
    page = client.get(f"/newsletters/{slug}")
    assert page.status_code == 200
    return client.post(
        f"/newsletters/{slug}/subscribe",
        data={"email": email, "csrf_token": csrf_token(page.text)},
        headers=headers,
    )


def shown_text(html: str) -> str:
    """A page's words as they read on screen: tags dropped, entities decoded."""
    return " ".join(unescape(TAG.sub("", html)).split())


def deliver(runner) -> None:
    """Run the mail worker until nothing is due, as ``newsletter worker --once``."""
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def link_path(message: EmailMessage, prefix: str) -> str:
    """The path of the first link in the plain-text part that starts with ``prefix``."""
    for path in LINK.findall(text_part(message)):
        if path.startswith(prefix):
            return path
    raise AssertionError(f"no {prefix} link in:\n{text_part(message)}")


def subscriptions(app) -> list[Subscription]:
    """Every subscription row, as the database holds it."""
    with app.app_context(), database(app).transaction() as session:
        query = select(Subscription).options(
            joinedload(Subscription.reader), joinedload(Subscription.newsletter)
        )
        return list(session.scalars(query.order_by(Subscription.id)))


def count(app, model) -> int:
    with app.app_context(), database(app).transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def confirmation_and_welcome(client, runner, mailbox) -> list[EmailMessage]:
    """Both emails a reader gets: sign up, receive the confirmation, confirm, get welcomed."""
    sign_up(client, "reader@example.com")
    deliver(runner)
    client.post(link_path(mailbox.messages[0], "/confirm/"))
    deliver(runner)
    return mailbox.messages
