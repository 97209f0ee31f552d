"""The one check of every admin route: does whoever is asking have what the route needs?

Each view says what it needs with ``@requires(Need.…)``; :func:`authorize`, a
``before_request`` of the admin blueprint registered by ``auth`` after the sign-in check
and the newsletter's lookup, answers 403 when the
caller's :class:`~newsletter.roles.Access` falls short, on the route's newsletter where it
has one. A route that says nothing is refused to everybody (and the app refuses to start
with one: see :func:`check_every_route`), so a new page cannot be forgotten open.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from flask import abort
from flask import current_app
from flask import request
from flask_login import current_user

from newsletter.roles import Access
from newsletter.roles import Need
from newsletter.web.admin import bp

View = TypeVar("View", bound=Callable)
NEEDS_ATTRIBUTE = "admin_needs"
OPEN_ENDPOINTS = {"admin.login"}  # anyone may ask to sign in
# The second sign-in step and enrolment: open to an editor half signed in too (the
# password given in this session); each page checks who that is.
SECOND_STEP_ENDPOINTS = {
    "admin.sign_in_code",
    "admin.two_factor",
    "admin.begin_two_factor",
    "admin.confirm_two_factor",
}
SIGN_IN_ENDPOINTS = OPEN_ENDPOINTS | SECOND_STEP_ENDPOINTS  # each checks its own caller


def requires(need: Need) -> Callable[[View], View]:
    """Mark a view with what its caller needs (checked by :func:`authorize`)."""

    def mark(view: View) -> View:
        setattr(view, NEEDS_ATTRIBUTE, need)
        return view

    return mark


def need_of(app: Flask, endpoint: str) -> Need | None:
    """What an endpoint's view needs, or None if it says nothing."""
    return getattr(app.view_functions.get(endpoint), NEEDS_ATTRIBUTE, None)


def current_access() -> Access:
    """The signed-in editor's (or the token's) access for this request."""
    return current_user.access


def authorize() -> None:
    """403 unless the caller's access meets the route's need, on the route's newsletter."""
    if request.endpoint in SIGN_IN_ENDPOINTS:
        return
    need = need_of(current_app, request.endpoint or "")
    newsletter = (request.view_args or {}).get("newsletter")
    if need is None or not current_access().may(need, newsletter):
        abort(403)


def check_every_route(app: Flask) -> None:
    """Refuse to start with an admin route that says nothing of who may use it."""
    unclassified = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{bp.name}.")
        and rule.endpoint not in SIGN_IN_ENDPOINTS
        and need_of(app, rule.endpoint) is None
    ]
    if unclassified:
        raise RuntimeError(f"admin routes without @requires: {', '.join(sorted(unclassified))}")
