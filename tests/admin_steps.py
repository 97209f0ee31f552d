"""What an editor (or an operator's script) does: create accounts and tokens, sign in."""

import re

from sqlalchemy import select

from newsletter.db import database
from newsletter.models import ApiToken
from tests.reader import link_path

EDITOR = "ed@example.com"
PASSWORD = "correct horse battery staple"
# Any hidden csrf_token field, whatever the order of its attributes.
CSRF_FIELD = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
TOKEN_LINE = re.compile(r"^nl_\S+$", re.MULTILINE)
TOKEN_ID = re.compile(r"^Token (\d+) ", re.MULTILINE)


def page_csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page (the sign-in form, the sign-out button…)."""
    match = CSRF_FIELD.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def create_editor(
    runner,
    email: str = EDITOR,
    password: str = PASSWORD,
    role: str | None = None,
    newsletters: tuple[str, ...] = (),
):
    """``newsletter admins create EMAIL [--role ROLE --newsletter SLUG…] --password-stdin``,
    as a provisioning script would."""
    options = ["--role", role] if role else []
    for slug in newsletters:
        options += ["--newsletter", slug]
    return runner.invoke(
        args=["admins", "create", email, *options, "--password-stdin"], input=f"{password}\n"
    )


def sign_in(client, email: str = EDITOR, password: str = PASSWORD, next_url: str | None = None):
    """Open the sign-in page, fill the form, submit it; returns the POST's response."""
    page = client.get("/admin/login")
    assert page.status_code == 200
    return client.post(
        "/admin/login",
        query_string={"next": next_url} if next_url is not None else None,
        data={"email": email, "password": password, "csrf_token": page_csrf_token(page.text)},
    )


def signed_in_client(
    app,
    runner,
    email: str = EDITOR,
    password: str = PASSWORD,
    role: str | None = None,
    newsletters: tuple[str, ...] = (),
):
    """A browser with an editor (created now, with ``role`` if given) signed in."""
    created = create_editor(runner, email, password, role, newsletters)
    assert created.exit_code == 0, created.output
    client = app.test_client()
    response = sign_in(client, email, password)
    assert response.status_code == 303, response.text
    return client


def create_token(runner, name: str = "nightly ESP sync", *options: str) -> tuple[int, str]:
    """``newsletter tokens create [OPTION…]``: the token's id and the secret it shows once."""
    result = runner.invoke(args=["tokens", "create", "--name", name, *options])
    assert result.exit_code == 0, result.output
    [secret] = TOKEN_LINE.findall(result.output)
    [token_id] = TOKEN_ID.findall(result.output)
    return int(token_id), secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def stored_tokens(app) -> list[ApiToken]:
    with app.app_context(), database(app).transaction() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def mailed_link(mailbox, address: str, prefix: str) -> str:
    """The ``prefix`` link (``/confirm/``…) of the latest message to ``address`` with one."""
    for message in reversed(mailbox.messages):
        if message["X-Envelope-To"] == address:
            try:
                return link_path(message, prefix)
            except AssertionError:
                continue
    raise AssertionError(f"no {prefix} link was mailed to {address}")
