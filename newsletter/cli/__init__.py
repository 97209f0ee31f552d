"""The ``newsletter`` command: one click group, its commands in modules by concern."""

import click
from flask import Flask
from flask.cli import FlaskGroup

from newsletter.cli import data
from newsletter.cli import editors
from newsletter.cli import newsletters
from newsletter.cli import service
from newsletter.config import ConfigurationError

COMMANDS: list[click.Command] = [
    service.serve,
    service.db_group,
    service.worker,
    newsletters.newsletters_group,
    editors.admins_group,
    editors.tokens_group,
    data.export,
    data.purge_pending,
]


def main() -> None:
    """Entry point of the ``newsletter`` console script."""
    # Imported here: the package's __init__ imports this module to register commands.
    from newsletter import create_app

    try:
        FlaskGroup(
            name="newsletter",
            help="Newsletter signup service.",
            create_app=create_app,
            add_default_commands=False,
            load_dotenv=False,
            set_debug_flag=False,
        )()
    except ConfigurationError as error:
        # The operator's to fix: their words, not a traceback.
        raise SystemExit(f"newsletter: {error}") from None


def init_app(app: Flask) -> None:
    """Attach the commands to the app, where ``FlaskGroup`` and test runners find them."""
    for command in COMMANDS:
        app.cli.add_command(command)
