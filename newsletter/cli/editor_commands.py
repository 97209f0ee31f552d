"""``newsletter admins`` and ``newsletter tokens``: who may use /admin and the export API,
with which role, on which newsletters. Every change is on the audit trail, by ``CLI``."""

import sys
from collections.abc import Callable

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from newsletter import api_tokens
from newsletter import editors
from newsletter import roles
from newsletter.access_models import Role
from newsletter.cli.common import editing
from newsletter.cli.common import reading
from newsletter.editors import InvalidEditor
from newsletter.models import Editor


@click.group("admins")
def admins_group() -> None:
    """Editors who sign in to /admin."""


PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
NEWSLETTERS = click.option(
    "--newsletter",
    "slugs",
    multiple=True,
    help="A newsletter's slug (repeatable): the newsletters of an editor or a viewer.",
)


def read_password(password_stdin: bool) -> str:
    """The password from standard input (scripts), or typed twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


ROLE = click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    help="owner (everything), editor or viewer (of the --newsletter given).",
)


def described(session: Session, editor: Editor) -> str:
    """``owner``, or ``editor of a, b``: an editor's role in words."""
    if editor.role is Role.OWNER:
        return str(editor.role)
    return f"{editor.role} of {', '.join(roles.newsletter_slugs(session, editor)) or 'nothing'}"


@admins_group.command("create")
@click.argument("email")
@ROLE
@NEWSLETTERS
@PASSWORD_STDIN
@with_appcontext
def admins_create(
    email: str, role: str | None, slugs: tuple[str, ...], password_stdin: bool
) -> None:
    """Create an editor; the password is asked for (or read from standard input). Without
    --role, the first editor is an owner, any later one a viewer of nothing."""
    password = read_password(password_stdin)
    with editing(InvalidEditor) as session:
        editor = editors.create(session, email, password, Role(role) if role else None, slugs)
        click.echo(f"Created editor {editor.email} ({described(session, editor)})")


@admins_group.command("set-role")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@NEWSLETTERS
@with_appcontext
def admins_set_role(email: str, role: str, slugs: tuple[str, ...]) -> None:
    """Give an editor a role: owner, or editor or viewer of the --newsletter given."""
    with editing(InvalidEditor, roles.InvalidRole) as session:
        editor = editors.existing(session, email)
        roles.set_role(session, editor, Role(role), slugs, actor="CLI")
        click.echo(f"{editor.email} is now {described(session, editor)}")


@admins_group.command("list")
@with_appcontext
def admins_list() -> None:
    """List editors: address, created, last sign-in, whether they are disabled, role."""
    with reading() as session:
        for editor in editors.all_editors(session):
            signed_in = (
                f"{editor.last_login_at:%Y-%m-%d %H:%M}" if editor.last_login_at else "never"
            )
            state = (
                f"disabled {editor.disabled_at:%Y-%m-%d %H:%M}" if editor.disabled_at else "active"
            )
            click.echo(
                f"{editor.email}\tcreated {editor.created_at:%Y-%m-%d}\t"
                f"last sign-in {signed_in}\t{state}\t{described(session, editor)}"
            )


def change_editor(change: Callable[[Session, str], Editor], email: str, done: str) -> None:
    """Apply ``change`` to the editor with this address, then say ``done`` to whom."""
    with editing(InvalidEditor) as session:
        editor = change(session, email)
        click.echo(f"{done} {editor.email}")


@admins_group.command("set-password")
@click.argument("email")
@PASSWORD_STDIN
@with_appcontext
def admins_set_password(email: str, password_stdin: bool) -> None:
    """Give an editor a new password (asked for twice); their sessions end."""
    password = read_password(password_stdin)
    change_editor(
        lambda session, address: editors.set_password(session, address, password),
        email,
        "New password for",
    )


@admins_group.command("disable")
@click.argument("email")
@with_appcontext
def admins_disable(email: str) -> None:
    """Keep an editor out: their sessions end and they cannot sign in."""
    change_editor(editors.disable, email, "Disabled editor")


@admins_group.command("enable")
@click.argument("email")
@with_appcontext
def admins_enable(email: str) -> None:
    """Let a disabled editor sign in again (their old sessions stay ended)."""
    change_editor(editors.enable, email, "Enabled editor")


@admins_group.command("reset-two-factor")
@click.argument("email")
@with_appcontext
def admins_reset_two_factor(email: str) -> None:
    """Forget an editor's second factor (a lost phone): their sessions end, and they sign
    in with their password and set it up again."""
    change_editor(editors.reset_two_factor, email, "Two-factor sign-in reset for")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for scripts (export with Authorization: Bearer …)."""


@tokens_group.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. 'nightly ESP sync'.")
@click.option(
    "--newsletter",
    "slugs",
    multiple=True,
    help="A newsletter it may export (repeatable; none: every newsletter).",
)
@click.option(
    "--days",
    type=int,
    default=api_tokens.DEFAULT_LIFETIME_DAYS,
    show_default=True,
    help="Days until it expires.",
)
@with_appcontext
def tokens_create(name: str, slugs: tuple[str, ...], days: int) -> None:
    """Create a token and print it: it is shown this once and never stored."""
    with editing(api_tokens.InvalidToken) as session:
        secret, token = api_tokens.create(session, name, slugs, days)
        click.echo(f"Token {token.id} ({token.name}); keep it secret, it is shown only once:")
        click.echo(secret)


@tokens_group.command("list")
@with_appcontext
def tokens_list() -> None:
    """List tokens (never their secrets): id, name, state, last use, expiry, newsletters."""
    with reading() as session:
        scopes = api_tokens.scope_slugs(session)
        for token in api_tokens.all_tokens(session):
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            scope = ",".join(scopes.get(token.id, ["all"]))
            click.echo(
                f"{token.id}\t{token.name}\t{state}\tlast used {used}\t"
                f"expires {token.expires_at:%Y-%m-%d %H:%M}\tnewsletters {scope}"
            )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token for good."""
    with editing() as session:
        if api_tokens.revoke(session, token_id) is None:
            raise click.ClickException(f"no token {token_id}")
    click.echo(f"Revoked token {token_id}")
