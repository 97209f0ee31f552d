"""Rate limits: signups per client network and per inbox; sign-ins per account and network.

Counts live in ``RATELIMIT_STORAGE_URI`` (``memory://`` on a laptop; Redis so that every
web process shares them). If that storage is unreachable, each process counts in its own
memory meanwhile and says so in the log: readers still sign up, and guessing passwords
stays capped (per process) instead of running free.
"""

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from flask import current_app
from flask import request
from flask_babel import ngettext
from flask_limiter import Limiter
from limits import parse_many
from limits.storage import MemoryStorage
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from limits.strategies import RateLimiter
from werkzeug.exceptions import TooManyRequests

from newsletter import addresses

log = logging.getLogger(__name__)

ADDRESS_SCOPE = "signup-address"
# Sign-in attempts for one account from one network, and from one network on any account.
SIGN_IN_SCOPE = "admin-login"
SIGN_IN_NETWORK_SCOPE = "admin-login-network"
# Codes at the second step for one account, from any network.
SIGN_IN_CODE_SCOPE = "admin-login-code"
# The units a wait is said in, largest first: their length in seconds, and how a count of
# them reads in the language being rendered (Ukrainian has three plural forms).
WAIT_UNITS: tuple[tuple[int, Callable[[int], str]], ...] = (
    (3600, lambda count: ngettext("%(num)d hour", "%(num)d hours", count)),
    (60, lambda count: ngettext("%(num)d minute", "%(num)d minutes", count)),
    (1, lambda count: ngettext("%(num)d second", "%(num)d seconds", count)),
)


@dataclass
class Counts:
    """An app's counters: in the shared storage, and in this process's memory as a fallback."""

    shared: RateLimiter
    local: RateLimiter
    prefix: str
    enabled: bool

    def hit(self, limit: str, *key: str) -> bool:
        """Count one event for ``key``; False once it is over ``limit`` ("10 per hour;...")."""
        items = parse_many(limit)
        return self._ask(
            lambda counter: all(counter.hit(item, self.prefix, *key) for item in items)
        )

    def clear(self, limit: str, *key: str) -> None:
        """Forget the events counted for ``key`` under ``limit``."""

        def forget(counter: RateLimiter) -> bool:
            for item in parse_many(limit):
                counter.clear(item, self.prefix, *key)
            return True

        self._ask(forget)

    def _ask(self, action: Callable[[RateLimiter], bool]) -> bool:
        """``action`` on the shared counter; if its storage fails, on this process's own."""
        if not self.enabled:
            return True
        try:
            return action(self.shared)
        except Exception as error:  # noqa: BLE001 (any storage failure)
            log.warning("Rate-limit storage unavailable, counting in memory: %s", error)
            return action(self.local)


def client_network() -> str:
    """The client's address; for IPv6 its /64, which one household usually holds whole.

    An IPv4 client of a dual-stack socket appears as ``::ffff:a.b.c.d``: it is that IPv4
    address, not one /64 shared by every IPv4 client.
    """
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def init_app(app: Flask, signup_blueprints: list[str], webhook_blueprints: list[str]) -> None:
    """Give the app its own limiter and counters; limit POSTs to the signup blueprints,
    and to the providers' webhooks (a budget of their own: a burst of bounces after a
    send must not spend the readers' signups, nor the reverse).

    One of each per app, not per module: each app has its own storage (tests run many
    apps in one process; production shares counts through Redis, not through memory).
    """
    limiter = Limiter(key_func=client_network, app=app)
    # Every signup surface (page, iframe, API) draws on the same per-network budget.
    per_network = limiter.shared_limit(
        lambda: current_app.config["SIGNUP_RATE_LIMIT"], scope="signup", methods=["POST"]
    )
    for name in signup_blueprints:
        per_network(app.blueprints[name])  # type: ignore[call-overload]  # a sansio Blueprint
    webhooks = limiter.shared_limit(
        lambda: current_app.config["WEBHOOK_RATE_LIMIT"], scope="webhooks", methods=["POST"]
    )
    for name in webhook_blueprints:
        webhooks(app.blueprints[name])  # type: ignore[call-overload]  # a sansio Blueprint
    config = app.config
    storage = storage_from_string(
        config["RATELIMIT_STORAGE_URI"], **config.get("RATELIMIT_STORAGE_OPTIONS", {})
    )
    app.extensions["rate_counts"] = Counts(
        shared=MovingWindowRateLimiter(storage),
        local=MovingWindowRateLimiter(MemoryStorage()),
        prefix=config.get("RATELIMIT_KEY_PREFIX", ""),
        enabled=config["RATELIMIT_ENABLED"],
    )


def check_address(normalized: str) -> None:
    """Count a signup for this inbox on any newsletter; 429 past the address's limit.

    The confirmation throttle already stops repeated emails per newsletter; this stops a
    script from walking one victim's inbox through every newsletter we host, under any
    of its names (``victim+1@…``, ``v.ictim@gmail.com``).
    """
    _count("ADDRESS_RATE_LIMIT", ADDRESS_SCOPE, addresses.mailbox(normalized))


def count_sign_in(account: str) -> None:
    """Count a sign-in attempt before its password is checked; 429 past a limit.

    Counted first, so that guesses sent in parallel cannot all pass a check made before
    any of them was counted. The account's count is kept per network: guessing from one
    network does not lock the editor out from the others.
    """
    network = client_network()
    _count("LOGIN_NETWORK_RATE_LIMIT", SIGN_IN_NETWORK_SCOPE, network)
    _count("LOGIN_RATE_LIMIT", SIGN_IN_SCOPE, account, network)


def count_second_step(account: str) -> None:
    """Count a code typed at the second sign-in step (or to finish an enrolment); 429
    past a limit.

    It is a sign-in attempt like a password (the same budgets, counted before the code is
    checked), and it also counts against the account's own budget for codes from every
    network: someone holding the password cannot spread guesses at the code over many
    networks. That budget may lock the account's second step for a while, which only a
    holder of the password can do, and which says it is time to change it.
    """
    count_sign_in(account)
    _count("LOGIN_CODE_RATE_LIMIT", SIGN_IN_CODE_SCOPE, account)


def forget_sign_in_failures(account: str) -> None:
    """After the right password the account starts afresh, on this network only.

    The network's own count stays: signing in to one account must not renew the budget
    for guessing at others.
    """
    limit = current_app.config["LOGIN_RATE_LIMIT"]
    _counts().clear(limit, SIGN_IN_SCOPE, account, client_network())


def wait_in_words(seconds: int) -> str:
    """A Retry-After as a person says it, rounded up: "30 seconds", "15 minutes", "2 hours"
    ("15 хвилин" for a Ukrainian reader; the admin's requests are English)."""
    length, words = next(
        (length, words) for length, words in WAIT_UNITS if seconds >= length or length == 1
    )
    return words(max(1, -(-seconds // length)))


def _count(setting: str, *key: str) -> None:
    """Count one event for ``key`` (scope first); 429 once it is over the limit ``setting``."""
    limit = current_app.config[setting]
    if not _counts().hit(limit, *key):
        longest = max(item.get_expiry() for item in parse_many(limit))
        raise TooManyRequests(retry_after=longest)


def _counts() -> Counts:
    return current_app.extensions["rate_counts"]
