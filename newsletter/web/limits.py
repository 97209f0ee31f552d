"""Rate limits on signups: per client network, and per address across all newsletters.

Counts live in ``RATELIMIT_STORAGE_URI`` (``memory://`` on a laptop; Redis so that every
web process shares them). If that storage is unreachable, limits fail open and say so in
the log: a reader's signup matters more than a missed count.
"""

import ipaddress
import logging

from flask import Flask
from flask import current_app
from flask import request
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from newsletter import addresses

log = logging.getLogger(__name__)

ADDRESS_SCOPE = "signup-address"


def client_network() -> str:
    """The client's address; for IPv6 its /64, which one household usually holds whole."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def init_app(app: Flask, signup_blueprints: list[str]) -> None:
    """Give the app its own limiter and limit POSTs to the signup blueprints.

    One limiter per app, not per module: each app has its own storage (tests run many
    apps in one process; production shares counts through Redis, not through memory).
    """
    limiter = Limiter(key_func=client_network, app=app)
    # Every signup surface (page, iframe, API) draws on the same per-network budget.
    per_network = limiter.shared_limit(
        lambda: current_app.config["SIGNUP_RATE_LIMIT"], scope="signup", methods=["POST"]
    )
    for name in signup_blueprints:
        per_network(app.blueprints[name])
    app.extensions["signup_limiter"] = limiter


def check_address(normalized: str) -> None:
    """Count a signup for this address on any newsletter; 429 past the address's limit.

    The confirmation throttle already stops repeated emails per newsletter; this stops a
    script from walking one victim's address through every newsletter we host.
    """
    limit = current_app.config["ADDRESS_RATE_LIMIT"]
    if not hit(ADDRESS_SCOPE, addresses.key(normalized), limit):
        raise TooManyRequests(retry_after=window_seconds(limit))


def window_seconds(limit: str) -> int:
    """The longest window of a limit string: a safe time to wait before trying again."""
    return max(item.get_expiry() for item in parse_many(limit))


def hit(scope: str, key: str, limit: str) -> bool:
    """Count one event for ``key``; False once it is over ``limit`` ("10 per hour;...")."""
    return _ask("hit", scope, key, limit)


def allows(scope: str, key: str, limit: str) -> bool:
    """Whether one more event for ``key`` would be within ``limit``, without counting it."""
    return _ask("test", scope, key, limit)


def _ask(method: str, scope: str, key: str, limit: str) -> bool:
    """Ask the app's limiter strategy; if its storage fails, allow (fail open, loudly)."""
    limiter: Limiter = current_app.extensions["signup_limiter"]
    if not limiter.enabled:
        return True
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    ask = getattr(limiter.limiter, method)
    try:
        return all(ask(item, prefix, scope, key) for item in parse_many(limit))
    except Exception as error:  # noqa: BLE001 (any storage failure)
        log.warning("Rate-limit storage unavailable, %s limit skipped: %s", scope, error)
        return True
