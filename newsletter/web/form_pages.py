"""A signup form's page as a new visitor gets it: rendered once, kept with the newsletters'
snapshot, and answered with only the request's own CSRF token put in.

A fresh form's page depends on nothing but its newsletters (the snapshot's objects), the
language, the ``?lang=`` its links keep, the URL prefix the app is served under and what
else of the URL it repeats; a page with errors or the address as typed is rendered per
request. The page goes with the snapshot it was rendered from
(``newsletter_snapshot.Snapshot.pages``), so an edited newsletter is seen on the form by
the rule of that module. What rendering did to the answer's Content-Security-Policy (a
logo's origin in ``img-src``) is kept with the page and done again on every answer that
serves it.
"""

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask import g
from flask import request
from flask_wtf.csrf import generate_csrf

from newsletter import languages
from newsletter import newsletter_snapshot
from newsletter.models import Newsletter
from newsletter.web import security

# Beyond this many pages per snapshot (actions differ by their ``?newsletters=`` as
# typed), pages are rendered per request rather than kept.
MAX_PAGES = 256


@dataclass(frozen=True)
class Page:
    """A rendered page, split where the CSRF token goes, and the policy it needs."""

    around_token: list[str]
    policy: dict[str, str]


def fresh(
    newsletters: Sequence[Newsletter], render: Callable[[], str], repeats: str | None = None
) -> str:
    """The page ``render`` makes with a fresh form for ``newsletters``, from the snapshot's
    pages if it was rendered before; ``repeats`` is what else of the URL the page shows
    (the form for several's ``?newsletters=``, in its action)."""
    pages = newsletter_snapshot.current().pages
    key = (
        tuple(newsletters),
        repeats,
        languages.current(),
        languages.supported(request.args.get("lang")),
        request.script_root,
    )
    page = pages.get(key)
    if page is None:
        html, page = _render(render)
        if page is not None and len(pages) < MAX_PAGES:
            pages[key] = page
        return html
    if page.policy:
        security.set_policy(**page.policy)
    if len(page.around_token) == 1:
        return page.around_token[0]
    return generate_csrf().join(page.around_token)


def _render(render: Callable[[], str]) -> tuple[str, Page | None]:
    """The page rendered for this request, and what to keep of it: the HTML around the
    token and what the rendering added to the answer's policy (nothing to keep if the
    page does not hold this request's token exactly once)."""
    before = dict(g.get("csp", {}))
    html = render()
    policy = {name: value for name, value in g.get("csp", {}).items() if before.get(name) != value}
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return html, Page([html], policy)
    around_token = html.split(generate_csrf())
    return html, Page(around_token, policy) if len(around_token) == 2 else None
