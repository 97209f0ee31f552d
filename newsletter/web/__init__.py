"""The HTTP surface: one blueprint per concern, plus errors and security headers."""

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from newsletter.web import errors
from newsletter.web import health
from newsletter.web import links
from newsletter.web import pages
from newsletter.web import security

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Register the blueprints and the request-wide protections."""
    security.init_app(app)
    csrf.init_app(app)
    # Links in emails are capabilities in themselves and must work from any mail client,
    # and RFC 8058 forbids cookies on one-click unsubscribe: no session CSRF there.
    csrf.exempt(links.bp)
    csrf.exempt(health.bp)
    errors.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(health.bp)
