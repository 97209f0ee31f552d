"""The HTTP surface: one blueprint per concern, plus errors, limits and security headers."""

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from newsletter.web import admin
from newsletter.web import api
from newsletter.web import bodies
from newsletter.web import bounce_webhooks
from newsletter.web import brand
from newsletter.web import demo
from newsletter.web import embed
from newsletter.web import errors
from newsletter.web import form_words
from newsletter.web import health
from newsletter.web import limits
from newsletter.web import links
from newsletter.web import manage
from newsletter.web import manage_link
from newsletter.web import pages
from newsletter.web import security

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Register the blueprints and the request-wide protections."""
    security.init_app(app)
    # Before CSRFProtect: its error handlers build forms from the body, which must be sane.
    bodies.init_app(app)
    csrf.init_app(app)
    # Session CSRF needs a cookie. The iframe form and the API work on other sites, where
    # third-party cookies may be blocked: they have their own defences (see embed, api).
    # Links in emails (and the manage page's) are capabilities in themselves, and RFC 8058
    # forbids cookies.
    # Providers' webhooks prove themselves with signatures or credentials of their own.
    for cookieless in (embed.bp, api.bp, links.bp, manage.bp, health.bp, bounce_webhooks.bp):
        csrf.exempt(cookieless)
    errors.init_app(app)
    form_words.init_app(app)
    for blueprint in (
        pages.bp,
        embed.bp,
        api.bp,
        links.bp,
        manage.bp,
        manage_link.bp,
        health.bp,
        bounce_webhooks.bp,
    ):
        app.register_blueprint(blueprint)
    brand.init_app(app)
    admin.init_app(app)
    if app.config["DEMO"]:
        app.register_blueprint(demo.bp)
    limits.init_app(
        app,
        signup_blueprints=["pages", "embed", "api", "manage_link"],
        webhook_blueprints=["bounce_webhooks"],
    )
