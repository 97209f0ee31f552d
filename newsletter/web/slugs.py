"""The ``<slug>`` in a URL, turned into its newsletter once per request, or a 404.

Views of a blueprint that looks newsletters up take a ``newsletter`` argument in place of
the URL's ``slug``; ``url_for(…, slug=newsletter.slug)`` builds their URLs as before.
"""

from typing import Any

from flask import Blueprint
from flask import abort
from flask import request

from newsletter import db
from newsletter import newsletters


def look_up_newsletters(blueprint: Blueprint) -> None:
    """Before anything else of the request: the public pages, the embeds and the API
    answer an unknown newsletter with 404 whatever else is wrong with the request."""
    blueprint.url_value_preprocessor(lambda _endpoint, values: replace_slug(values))


def look_up_newsletters_after_guards(blueprint: Blueprint) -> None:
    """After the blueprint's ``before_request`` guards registered so far (the admin's
    sign-in check: an anonymous visitor learns nothing, not even whether a slug exists)."""
    blueprint.before_request(lambda: replace_slug(request.view_args))


def replace_slug(values: dict[str, Any] | None) -> None:
    """Put the newsletter the ``slug`` names in its place among the view's arguments."""
    if values is None or "slug" not in values:
        return
    newsletter = newsletters.get_by_slug(db.session(), values.pop("slug"))
    if newsletter is None:
        abort(404)
    values["newsletter"] = newsletter
