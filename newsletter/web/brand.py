"""A newsletter's brand on our pages and in the iframe: its colours as a stylesheet of its
own, ``/newsletters/<slug>/brand.css`` (our Content-Security-Policy allows no inline
style), and its logo, whose origin the page's policy then lets images come from.

The values were checked when an editor saved them (newsletter.branding); embed.js gets
the same colours from the API (``brand`` in a newsletter's face).
"""

from flask import Blueprint
from flask import Flask
from flask import Response
from markupsafe import Markup
from markupsafe import escape

from newsletter import branding
from newsletter.models import Newsletter
from newsletter.web import security
from newsletter.web import slugs

bp = Blueprint("brand", __name__)
slugs.look_up_newsletters(bp)

MAX_AGE = 300  # an editor's new colour reaches readers within minutes


@bp.get("/newsletters/<slug>/brand.css")
def stylesheet(newsletter: Newsletter) -> Response:
    """The form stylesheet's colour variables, for the page, the frame and embed.js."""
    response = Response(css(newsletter), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


def css(newsletter: Newsletter) -> str:
    """``:root`` (our pages, the frame) and ``:host`` (embed.js's shadow root); empty for
    a newsletter without an accent colour (form.css has the service's)."""
    if not newsletter.accent_color:
        return ""
    return f":root, :host {{ {branding.css_variables(newsletter)} }}\n"


def logo(newsletter: Newsletter) -> Markup:
    """The logo above the newsletter's name (decorative: the name follows), allowed by
    this answer's Content-Security-Policy; nothing without one."""
    origin = branding.logo_origin(newsletter)
    if origin is None:
        return Markup("")
    security.allow_images_from(origin)
    return Markup('<img class="signup__logo" src="{}" alt="" height="48">').format(
        escape(newsletter.logo_url)
    )


def init_app(app: Flask) -> None:
    """Serve the stylesheets; give templates the logo."""
    app.register_blueprint(bp)
    app.add_template_global(logo, name="brand_logo")
