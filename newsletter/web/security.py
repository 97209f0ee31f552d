"""Headers every response carries, and the client address behind trusted proxies.

Every page is unframable (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``)
except the iframe form, which a view opens to exactly its newsletter's allowed origins
with :func:`allow_framing_by`.
Written here rather than with Flask-Talisman: the whole policy is a few fixed headers
and one per-view exception, and the tests assert it exactly.
"""

from flask import Flask
from flask import Response
from flask import g
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}

DEFAULT_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

HSTS_MAX_AGE = 365 * 24 * 3600  # browsers remember to use HTTPS only, for a year

# Pages whose URL holds a token: keep it out of Referer headers and caches.
TOKEN_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    """Trust exactly ``PROXY_HOPS`` proxies for the client address, and add the headers."""
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.after_request(_add_headers)


def allow_framing_by(origins: list[str]) -> None:
    """Let these origins (and only these) frame the current response."""
    set_policy(**{"frame-ancestors": " ".join(origins) or "'none'"})
    g.framable = True


def set_policy(**directives: str) -> None:
    """Change Content-Security-Policy directives for the current response only."""
    g.setdefault("csp", {}).update(directives)


def allow_images_from(origin: str) -> None:
    """Let the current response's images come from ``origin`` too (a newsletter's logo):
    added to ``img-src``, so a page showing several logos allows each of theirs."""
    policy = g.setdefault("csp", {})
    sources = policy.get("img-src", CONTENT_SECURITY_POLICY["img-src"])
    if origin not in sources.split():
        policy["img-src"] = f"{sources} {origin}"


def token_page(response: Response) -> Response:
    """After-request hook for blueprints whose URLs carry tokens."""
    response.headers.update(TOKEN_PAGE_HEADERS)
    return response


def _add_headers(response: Response) -> Response:
    """Add the defaults without overriding what a view chose for its response."""
    policy = CONTENT_SECURITY_POLICY | g.get("csp", {})
    response.headers.setdefault(
        "Content-Security-Policy", "; ".join(f"{name} {value}" for name, value in policy.items())
    )
    for name, value in DEFAULT_HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("framable"):
        # A framed form is rendered per request with its own token: never cache it.
        del response.headers["X-Frame-Options"]
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
    return response
