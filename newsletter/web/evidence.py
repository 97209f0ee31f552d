"""Consent evidence read off the current request."""

import ipaddress

from flask import request

from newsletter import languages
from newsletter.subscriptions import Evidence


def from_request(source: str = "web", source_url: str | None = None) -> Evidence:
    """Who is asking, from where (the client address after ProxyFix, agent and page), in
    which language."""
    return Evidence(
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent"),
        source=source,
        source_url=source_url if source_url is not None else request.referrer,
        language=languages.current(),
    )


def client_ip() -> str | None:
    """The client's IP address, or None if what we were given is none.

    Behind a proxy it comes from ``X-Forwarded-For``, which may hold anything: only an
    address is kept as evidence (and fits its column). An IPv6 zone means nothing here.
    """
    try:
        return str(ipaddress.ip_address((request.remote_addr or "").partition("%")[0]))
    except ValueError:
        return None
