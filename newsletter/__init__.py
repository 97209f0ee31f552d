"""Newsletter signup service: forms, double opt-in, subscribers per newsletter."""

import os
from pathlib import Path

from flask import Flask
from flask import Response

from newsletter import cli
from newsletter import config
from newsletter import db
from newsletter import languages
from newsletter import newsletter_snapshot
from newsletter import web
from newsletter.mail import dkim
from newsletter.mail import transports

PACKAGE = Path(__file__).parent


class App(Flask):
    """Flask, with each request's one commit point right after its view."""

    def dispatch_request(self) -> Response:
        # Here, not in an after-request hook: an error of the commit must reach the error
        # handlers for its type (a database outage is a 503), as an error of the view does.
        response = self.make_response(super().dispatch_request())
        db.commit_request(response)
        return response


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, database, web surface, commands."""
    app = App(
        __name__,
        instance_path=_instance_path(test_config),
        template_folder=_resource_folder("templates"),
        static_folder=_resource_folder("static"),
    )
    config.load(app, test_config)
    languages.init_app(app)
    transports.init_app(app)
    dkim.init_app(app)
    db.init_app(app)
    newsletter_snapshot.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app


def _instance_path(test_config: dict | None) -> str | None:
    """``NEWSLETTER_INSTANCE_PATH`` (or the test's ``INSTANCE_PATH``), else Flask's default."""
    if test_config and "INSTANCE_PATH" in test_config:
        return str(test_config["INSTANCE_PATH"])
    return os.environ.get("NEWSLETTER_INSTANCE_PATH")


def _resource_folder(name: str) -> str:
    """Inside the package when installed from a wheel, beside it in a source checkout."""
    packaged = PACKAGE / name
    return str(packaged if packaged.is_dir() else PACKAGE.parent / name)
