"""Which web origins may use a newsletter's form: its allowed list, and our own."""

from urllib.parse import urlsplit

from flask import current_app

from newsletter.models import Newsletter


def own_origin() -> str:
    """This service's origin, from ``PUBLIC_URL`` (never from the request's Host)."""
    parts = urlsplit(current_app.config["PUBLIC_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def is_allowed(newsletter: Newsletter, origin: str) -> bool:
    """Exact match only: no prefixes, no wildcards, no case games (origins are normalised)."""
    return origin == own_origin() or origin in newsletter.allowed_origins
