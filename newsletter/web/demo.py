"""A sample article page embedding a newsletter's form both ways (``NEWSLETTER_DEMO``).

Open it as http://localhost:5000/demo/article while the service's own address is
http://127.0.0.1:5000: two different origins, so the embeds work exactly as they would
on a publisher's site.
"""

from flask import Blueprint
from flask import current_app
from flask import render_template

from newsletter import db
from newsletter import newsletters
from newsletter.web import origins
from newsletter.web import security

bp = Blueprint("demo", __name__)


@bp.get("/demo/article")
def article():
    """A news article with the first newsletter's form, as an iframe and through embed.js."""
    service = origins.own_origin()
    sources = f"'self' {service}"
    security.set_policy(**{"script-src": sources, "connect-src": sources, "frame-src": service})
    return render_template(
        "demo/article.html",
        newsletters=newsletters.all_newsletters(db.session()),
        public_url=current_app.config["PUBLIC_URL"],
    )
