"""Consent evidence read off the current request."""

from flask import request

from newsletter.subscriptions import Evidence


def from_request(source: str = "web", source_url: str | None = None) -> Evidence:
    """Who is asking, from where: the client address (after ProxyFix), agent and page."""
    return Evidence(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        source=source,
        source_url=source_url if source_url is not None else request.referrer,
    )
