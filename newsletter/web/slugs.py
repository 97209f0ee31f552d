"""The ``<slug>`` in a URL, turned into its newsletter once per request, or a 404.

The admin looks it up in the request's session (its views change it); the reader-facing
blueprints in the process's snapshot (:mod:`newsletter.newsletter_snapshot`). Views of a
blueprint that looks newsletters up take a ``newsletter`` argument in place of
the URL's ``slug``; ``url_for(…, slug=newsletter.slug)`` builds their URLs as before.
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import abort
from flask import request

from newsletter import db
from newsletter import newsletter_snapshot
from newsletter import newsletters
from newsletter.models import Newsletter


def look_up_newsletters(blueprint: Blueprint) -> None:
    """Before anything else of the request: the public pages, the embeds and the API
    answer an unknown newsletter with 404 whatever else is wrong with the request.

    They only read the newsletter, so it comes from the process's snapshot (no query).
    """
    blueprint.url_value_preprocessor(
        lambda _endpoint, values: replace_slug(values, newsletter_snapshot.by_slug)
    )


def look_up_newsletters_after_guards(blueprint: Blueprint) -> None:
    """After the blueprint's ``before_request`` guards registered so far (the admin's
    sign-in check: an anonymous visitor learns nothing, not even whether a slug exists)."""
    blueprint.before_request(
        lambda: replace_slug(
            request.view_args, lambda slug: newsletters.get_by_slug(db.session(), slug)
        )
    )


def replace_slug(
    values: dict[str, Any] | None, look_up: Callable[[str], Newsletter | None]
) -> None:
    """Put the newsletter the ``slug`` names (``look_up``) in its place among the view's
    arguments."""
    if values is None or "slug" not in values:
        return
    newsletter = look_up(values.pop("slug"))
    if newsletter is None:
        abort(404)
    values["newsletter"] = newsletter
