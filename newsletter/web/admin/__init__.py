"""``/admin``: editors manage newsletters and subscribers, and export them.

Every page needs a signed-in editor (anonymous visitors are sent to the sign-in page;
scripts get 401) whose role allows it (``access``; else 403). The CSV export also
accepts an API token (``Authorization: Bearer``) for the newsletters it covers.
Admin forms are protected by Flask-WTF's session CSRF token.
"""

from flask import Blueprint
from flask import Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    """Register the admin blueprint with its sign-in machinery and its pages."""
    # Imported here so that each module's routes are attached to the blueprint above.
    from newsletter.web.admin import access
    from newsletter.web.admin import audit_pages  # noqa: F401  (registers its routes)
    from newsletter.web.admin import auth
    from newsletter.web.admin import dashboard  # noqa: F401
    from newsletter.web.admin import downloads  # noqa: F401
    from newsletter.web.admin import editor_pages  # noqa: F401
    from newsletter.web.admin import import_pages  # noqa: F401
    from newsletter.web.admin import newsletter_settings  # noqa: F401
    from newsletter.web.admin import subscriber_pages  # noqa: F401
    from newsletter.web.admin import token_pages  # noqa: F401
    from newsletter.web.admin import two_factor_pages  # noqa: F401
    from newsletter.web.admin import webhook_pages  # noqa: F401

    auth.init_app(app)
    app.register_blueprint(bp)
    access.check_every_route(app)
