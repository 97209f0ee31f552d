"""Newsletters: creating and changing them, with the checks an editor's input needs."""

import re
from collections.abc import Callable
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import addresses
from newsletter import branding
from newsletter import languages
from newsletter.models import Newsletter
from newsletter.models import NewsletterText

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_ORIGINS = 50
MAX_POSITION = 9999
# C0 and C1 control characters (PostgreSQL refuses NUL in text; nobody means the others),
# and lone surrogates (non-UTF-8 bytes on a command line), which no database can store.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A newsletter's name or description in a language, by language: {"uk": "Пояснюючи…"}.
# "" takes that language's back to the newsletter's own.
PerLanguage = Mapping[str, str]

DEFAULT_NEWSLETTER = {
    "slug": "explaining-ukraine",
    "name": "Explaining Ukraine with Kate Tsurkan",
    "description": (
        "A weekly letter on the war, the politics and the people of Ukraine, "
        "explained for readers everywhere."
    ),
}


# By the position editors gave, then by name; the id settles a tie of both.
LISTING_ORDER = (Newsletter.position, Newsletter.name, Newsletter.id)


class InvalidNewsletter(ValueError):
    """An editor's input that cannot become a newsletter; the message says why."""


def is_slug(text: str) -> bool:
    """Whether ``text`` could be a slug (a URL may carry anything, NUL included, which
    PostgreSQL refuses in a text parameter)."""
    return len(text) <= MAX_SLUG_LENGTH and SLUG_PATTERN.fullmatch(text) is not None


def get_by_slug(session: Session, slug: str) -> Newsletter | None:
    """The newsletter with this slug, or None (without a query when no slug could match)."""
    if not is_slug(slug):
        return None
    return session.scalars(select(Newsletter).where(Newsletter.slug == slug)).one_or_none()


def all_newsletters(session: Session) -> list[Newsletter]:
    """Every newsletter, private ones too, in the editors' order (for the admin, and
    the readers' pages' snapshot: newsletter.newsletter_snapshot)."""
    return list(session.scalars(select(Newsletter).order_by(*LISTING_ORDER)))


def create(
    session: Session,
    *,
    slug: str,
    name: str,
    description: str = "",
    allowed_origins: list[str] | tuple[str, ...] = (),
    sender: str = "",
    public: bool = True,
    position: int = 0,
    language: str = languages.ENGLISH,
    accent_color: str = "",
    logo_url: str = "",
    names: PerLanguage | None = None,
    descriptions: PerLanguage | None = None,
) -> Newsletter:
    """Add a newsletter after checking every field; the slug must be free. ``names`` and
    ``descriptions`` are what readers of a language see instead of ``name`` and
    ``description`` (newsletter.models.NewsletterText)."""
    texts = _checked_texts(names, descriptions)
    newsletter = Newsletter(
        slug=_checked_slug(slug),
        name=_checked_name(name),
        description=_cleaned_description(description),
        allowed_origins=normalize_origins(allowed_origins),
        sender=normalize_sender(sender),
        public=public,
        position=_checked_position(position),
        language=_checked_language(language),
        accent_color=checked_accent(accent_color),
        logo_url=checked_logo(logo_url),
    )
    if get_by_slug(session, newsletter.slug) is not None:
        raise InvalidNewsletter(f"a newsletter with the slug {slug!r} exists already")
    _change_texts(newsletter, texts)
    session.add(newsletter)
    session.flush()
    return newsletter


def update(
    session: Session,
    newsletter: Newsletter,
    *,
    name: str | None = None,
    description: str | None = None,
    allowed_origins: list[str] | tuple[str, ...] | None = None,
    sender: str | None = None,
    public: bool | None = None,
    position: int | None = None,
    language: str | None = None,
    accent_color: str | None = None,
    logo_url: str | None = None,
    names: PerLanguage | None = None,
    descriptions: PerLanguage | None = None,
) -> Newsletter:
    """Change the given fields of a newsletter (None leaves a field as it is; so does a
    language that ``names`` or ``descriptions`` leaves out).

    Every field is checked before any is changed: a refused update changes nothing.
    """
    texts = _checked_texts(names, descriptions)
    checked: dict[str, object] = {}
    if name is not None:
        checked["name"] = _checked_name(name)
    if description is not None:
        checked["description"] = _cleaned_description(description)
    if allowed_origins is not None:
        checked["allowed_origins"] = normalize_origins(allowed_origins)
    if sender is not None:
        checked["sender"] = normalize_sender(sender)
    if public is not None:
        checked["public"] = public
    if position is not None:
        checked["position"] = _checked_position(position)
    if language is not None:
        checked["language"] = _checked_language(language)
    if accent_color is not None:
        checked["accent_color"] = checked_accent(accent_color)
    if logo_url is not None:
        checked["logo_url"] = checked_logo(logo_url)
    for field, value in checked.items():
        setattr(newsletter, field, value)
    _change_texts(newsletter, texts)
    session.flush()
    return newsletter


def seed_default(session: Session, allowed_origins: tuple[str, ...] = ()) -> Newsletter | None:
    """Create the first newsletter when there is none, so a fresh install shows a form."""
    if session.scalar(select(func.count()).select_from(Newsletter)):
        return None
    return create(
        session,
        slug=DEFAULT_NEWSLETTER["slug"],
        name=DEFAULT_NEWSLETTER["name"],
        description=DEFAULT_NEWSLETTER["description"],
        allowed_origins=allowed_origins,
    )


def normalize_origins(values: list[str] | tuple[str, ...]) -> list[str]:
    """Check and normalise a list of origins, dropping repeats and keeping the order."""
    origins = list(dict.fromkeys(normalize_origin(value) for value in values))
    if len(origins) > MAX_ORIGINS:
        raise InvalidNewsletter(f"at most {MAX_ORIGINS} allowed origins")
    return origins


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, or :class:`InvalidNewsletter`.

    These values end up in CORS and Content-Security-Policy headers, so anything but a
    bare origin (a path, a query, credentials, spaces, quotes, a wildcard) is refused.
    """
    text = value.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise InvalidNewsletter(f"not an origin: {value!r}") from error
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", host)
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        raise InvalidNewsletter(f"not an origin (scheme://host[:port]): {value!r}")
    if ":" in host:
        host = f"[{host}]"
    # Browsers leave a scheme's default port out of the Origin header; so do we.
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _checked_language(language: str) -> str:
    """One of the languages readers can have (``newsletter.languages``)."""
    if languages.supported(language) is None:
        raise InvalidNewsletter(f"the language must be one of {', '.join(languages.LANGUAGES)}")
    return language


def checked_accent(value: str) -> str:
    """``#rrggbb`` that white text can be read on (newsletter.branding), or empty."""
    return _unless_problem(branding.accent_problem, value.strip().lower())


def checked_logo(value: str) -> str:
    """An ``https://`` image URL (newsletter.branding), or empty."""
    return _unless_problem(branding.logo_problem, value.strip())


def _unless_problem(problem_of: Callable[[str], str | None], value: str) -> str:
    """``value`` (empty is fine), unless ``problem_of`` finds one: then refused, saying it."""
    problem = problem_of(value) if value else None
    if problem:
        raise InvalidNewsletter(problem)
    return value


def normalize_sender(value: str) -> str:
    """``Name <address>`` (or a bare address) checked and normalised; empty stays empty."""
    text = value.strip()
    if not text:
        return ""
    name, address = parseaddr(text)
    try:
        normalized = addresses.normalize(address)
    except addresses.InvalidAddress as error:
        raise InvalidNewsletter(f"not a sender address: {value!r}") from error
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidNewsletter(f"a sender's name is up to {MAX_NAME_LENGTH} characters")
    local, _, domain = normalized.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def _checked_slug(slug: str) -> str:
    """A slug is lower-case words of letters and digits joined by single hyphens."""
    slug = slug.strip()
    if len(slug) > MAX_SLUG_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidNewsletter(
            f"a slug is up to {MAX_SLUG_LENGTH} lower-case letters, digits and single "
            f"hyphens, such as explaining-ukraine: {slug!r}"
        )
    return slug


def _checked_name(name: str, what: str = "a name") -> str:
    """A name is required, one line, and fits the column."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidNewsletter(f"{what} is 1 to {MAX_NAME_LENGTH} characters")
    if CONTROL_CHARACTERS.search(name):
        raise InvalidNewsletter(f"{what} cannot contain control characters")
    return name


def _checked_texts(
    names: PerLanguage | None, descriptions: PerLanguage | None
) -> dict[str, dict[str, str]]:
    """The names and descriptions given per language, checked as the newsletter's own
    are (an empty one is allowed: it clears that language's), as the fields of each
    language's text: ``{"uk": {"name": "…"}}``."""
    texts: dict[str, dict[str, str]] = {}
    for language, name in (names or {}).items():
        checked = _checked_name(name, f"a name in {language}") if name.strip() else ""
        texts.setdefault(_checked_language(language), {})["name"] = checked
    for language, description in (descriptions or {}).items():
        texts.setdefault(_checked_language(language), {})["description"] = _cleaned_description(
            description
        )
    return texts


def _change_texts(newsletter: Newsletter, texts: dict[str, dict[str, str]]) -> None:
    """Set the newsletter's checked texts; a language left with neither a name nor a
    description loses its row (it shows the newsletter's own)."""
    for language, fields in texts.items():
        text = newsletter.texts.get(language) or NewsletterText(
            language=language, name="", description=""
        )
        for field, value in fields.items():
            setattr(text, field, value)
        if text.name or text.description:
            newsletter.texts[language] = text
        else:
            newsletter.texts.pop(language, None)


def _checked_position(position: int) -> int:
    """A position is a small number: lists show lower ones first."""
    if not 0 <= position <= MAX_POSITION:
        raise InvalidNewsletter(f"a position is a whole number from 0 to {MAX_POSITION}")
    return position


def _cleaned_description(description: str) -> str:
    """Paragraphs kept, each line break as ``\\n``; other control characters dropped.

    Dropped, not refused: text pasted from a word processor or a PDF brings invisible
    ones (a vertical tab for a line break, stray NULs) that an editor could not find.
    """
    lines = description.strip().splitlines()
    return "\n".join(CONTROL_CHARACTERS.sub("", line) for line in lines)
