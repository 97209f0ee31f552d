"""Headers every response carries, and the client address behind trusted proxies."""

from flask import Flask
from flask import Response
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)

DEFAULT_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Pages whose URL holds a token: keep it out of Referer headers and caches.
TOKEN_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    """Trust exactly ``PROXY_HOPS`` proxies for the client address, and add the headers."""
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.after_request(_add_default_headers)


def _add_default_headers(response: Response) -> Response:
    """Add the defaults without overriding what a blueprint chose for its responses."""
    for name, value in DEFAULT_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def token_page(response: Response) -> Response:
    """After-request hook for blueprints whose URLs carry tokens."""
    response.headers.update(TOKEN_PAGE_HEADERS)
    return response
