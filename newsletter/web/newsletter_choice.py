"""The newsletters a form offers several of, named in a URL or a JSON body by their slugs.

``?newsletters=a,b`` (or the API's ``"newsletters": ["a", "b"]``) names public newsletters;
without it a form offers every public one. Whatever the order given, they are offered,
recorded and confirmed in the listing order. A slug that names no public newsletter is
refused with its name (:class:`UnknownNewsletter`): a 404 for a page that would show it,
a 422 for a signup that chose it. Another site may use such a form only if every one of
its newsletters allows that site (:func:`allowed_origins`). The newsletters come from the
process's snapshot (:mod:`newsletter.newsletter_snapshot`): a form only reads them.
"""

from collections.abc import Iterable

from newsletter import newsletter_snapshot
from newsletter import newsletters
from newsletter.models import Newsletter
from newsletter.web import origins

SEPARATOR = ","
# More names than any form offers are not looked up (one query, a bounded list).
MAX_NAMED = 100


class UnknownNewsletter(LookupError):
    """A slug that names no public newsletter; ``slug`` is what was given."""

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug


def from_parameter(parameter: str | None) -> list[Newsletter]:
    """The newsletters ``?newsletters=a,b`` names; every public one without it (or with
    an empty one)."""
    slugs = [slug for slug in (parameter or "").split(SEPARATOR) if slug]
    if not slugs:
        return newsletter_snapshot.public()
    return named(slugs)


def named(slugs: Iterable[str]) -> list[Newsletter]:
    """The public newsletters these slugs name, in the listing order (repeats once).

    :class:`UnknownNewsletter` for the first slug that names none.
    """
    found, unknown = partition(slugs)
    if unknown is not None:
        raise UnknownNewsletter(unknown)
    return found


def partition(slugs: Iterable[str]) -> tuple[list[Newsletter], str | None]:
    """The public newsletters these slugs name, in the listing order, and the first slug
    that names none (None if all do)."""
    wanted = list(dict.fromkeys(slugs))
    # A slug that cannot be one is not looked up (a URL may carry anything, NUL included).
    possible = [slug for slug in wanted if newsletters.is_slug(slug)][:MAX_NAMED]
    found = newsletter_snapshot.public_named(possible)
    known = {newsletter.slug for newsletter in found}
    missing = [slug for slug in wanted if slug not in known]
    return found, (missing[0] if missing else None)


def key(offered: Iterable[Newsletter]) -> str:
    """One text for a set of newsletters, whatever their order (what a form token names)."""
    return SEPARATOR.join(sorted(newsletter.slug for newsletter in offered))


def allowed_origins(offered: list[Newsletter]) -> list[str]:
    """The origins every one of the newsletters allows (the first one's order)."""
    if not offered:
        return []
    first, *others = offered
    return [
        origin
        for origin in first.allowed_origins
        if all(origin in newsletter.allowed_origins for newsletter in others)
    ]


def allow(offered: list[Newsletter], origin: str) -> bool:
    """Whether a page on ``origin`` may use a form offering these newsletters."""
    return all(origins.is_allowed(newsletter, origin) for newsletter in offered)


def allowed_by_any(origin: str) -> bool:
    """Whether some public newsletter allows ``origin`` (a preflight, which cannot know
    which newsletters the request will name, refuses any other)."""
    return any(
        origins.is_allowed(newsletter, origin) for newsletter in newsletter_snapshot.public()
    )
