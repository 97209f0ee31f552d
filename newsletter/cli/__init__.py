"""The ``newsletter`` command: one click group, its commands in modules by concern."""

import click
from flask import Flask
from flask.cli import FlaskGroup

from newsletter.cli import audit_commands
from newsletter.cli import bounce_commands
from newsletter.cli import data
from newsletter.cli import dkim_command
from newsletter.cli import editor_commands
from newsletter.cli import import_command
from newsletter.cli import newsletter_commands
from newsletter.cli import service
from newsletter.cli import webhook_commands
from newsletter.config import ConfigurationError

COMMANDS: list[click.Command] = [
    service.serve,
    service.db_group,
    service.worker,
    newsletter_commands.newsletters_group,
    editor_commands.admins_group,
    editor_commands.tokens_group,
    audit_commands.audit_group,
    data.export,
    data.purge_pending,
    data.daily,
    import_command.import_list,
    dkim_command.dkim_group,
    webhook_commands.webhooks_group,
    bounce_commands.bounces_group,
]


# Flask's own options (app import path, .env file, debug mode) are for Flask developers;
# an operator configures the product through NEWSLETTER_* variables instead.
FLASK_OPTIONS = {"app", "env_file", "debug"}


class NewsletterGroup(FlaskGroup):
    """Flask's command group, showing an operator only the product's own commands.

    Flask also loads every installed extension's ``flask.commands`` entry point (such as
    Flask-Limiter's ``limiter``); none of them is something to run on this product.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(command.name for command in COMMANDS if command.name)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        return super().get_command(ctx, name)


def command_group() -> NewsletterGroup:
    """The ``newsletter`` command, with Flask's developer options hidden."""
    # Imported here: the package's __init__ imports this module to register commands.
    from newsletter import create_app

    group = NewsletterGroup(
        name="newsletter",
        help="Newsletter signup service.",
        create_app=create_app,
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        set_debug_flag=False,
    )
    for option in group.params:
        if isinstance(option, click.Option):
            option.hidden = option.name in FLASK_OPTIONS
    return click.version_option(package_name="newsletter")(group)


def main() -> None:
    """Entry point of the ``newsletter`` console script."""
    try:
        command_group()()
    except ConfigurationError as error:
        # The operator's to fix: their words, not a traceback.
        raise SystemExit(f"newsletter: {error}") from None


def init_app(app: Flask) -> None:
    """Attach the commands to the app, where ``FlaskGroup`` and test runners find them."""
    for command in COMMANDS:
        app.cli.add_command(command)
