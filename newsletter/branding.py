"""A newsletter's brand: its accent colour and logo, on its page, its embeds and its emails.

The accent is a ``#rrggbb`` colour that white text on it can be read against (WCAG's
4.5:1, as buttons carry white words on it); the logo is an ``https://`` image URL, shown
above the newsletter's name. Both are optional: without them the service's blue and no
logo. What readers' browsers get is built here from checked values only, so nothing an
editor types reaches a stylesheet or a page unchecked.
"""

import re
from urllib.parse import urlsplit

from newsletter.models import URL_LENGTH
from newsletter.models import Newsletter

DEFAULT_ACCENT = "#0057b8"
ACCENT_PATTERN = re.compile(r"#[0-9a-f]{6}")
# White text on the accent: WCAG 2's contrast for normal text.
MIN_CONTRAST = 4.5
# The hover colour: the accent darkened by this much.
DARKER = 0.78
# A logo's URL: https, a host, and no character that would need escaping in CSS or HTML.
LOGO_PATTERN = re.compile(r"https://[^\s\"'<>()\\]+")


def accent(newsletter: Newsletter) -> str:
    """The newsletter's accent colour, or the service's."""
    return newsletter.accent_color or DEFAULT_ACCENT


def accent_dark(newsletter: Newsletter) -> str:
    """The accent, darker: buttons under the pointer."""
    red, green, blue = _channels(accent(newsletter))
    return "#" + "".join(f"{round(value * DARKER):02x}" for value in (red, green, blue))


def css_variables(newsletter: Newsletter) -> str:
    """The form stylesheet's colour variables for this newsletter (form.css uses them)."""
    return f"--accent: {accent(newsletter)}; --accent-dark: {accent_dark(newsletter)};"


def logo_origin(newsletter: Newsletter) -> str | None:
    """Where the logo comes from (for the page's Content-Security-Policy), if any."""
    if not newsletter.logo_url:
        return None
    parts = urlsplit(newsletter.logo_url)
    return f"{parts.scheme}://{parts.netloc}"


def accent_problem(value: str) -> str | None:
    """Why ``value`` (lower-cased, trimmed) cannot be an accent colour, or None."""
    if not ACCENT_PATTERN.fullmatch(value):
        return "an accent colour is written #rrggbb, such as #0057b8"
    contrast = _contrast_with_white(value)
    if contrast < MIN_CONTRAST:
        return (
            f"white text on the accent colour {value} is hard to read: choose a darker "
            f"colour (contrast {contrast:.1f}:1, at least {MIN_CONTRAST}:1)"
        )
    return None


def logo_problem(value: str) -> str | None:
    """Why ``value`` (trimmed) cannot be a logo's URL, or None."""
    if len(value) > URL_LENGTH or not LOGO_PATTERN.fullmatch(value):
        return "a logo is an https:// URL of an image, such as https://example.org/logo.png"
    if not urlsplit(value).hostname:
        return "a logo's URL needs a host, such as https://example.org/logo.png"
    return None


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _contrast_with_white(colour: str) -> float:
    """WCAG 2's contrast ratio of white against ``colour``."""

    def linear(value: int) -> float:
        channel = value / 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(value) for value in _channels(colour))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)
