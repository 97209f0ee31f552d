"""The mail providers whose bounce and complaint webhooks we take, each verified as the
provider documents it: Amazon SES through SNS (``ses``), Postmark, Mailgun and SendGrid.

Each module has ``receive(call) -> Verified``: it checks the call came from the provider
(raising :class:`Unverified` if not) and turns it into ``bounces.Report`` values; what to
do with them is ``newsletter.bounces``'s. A provider stays closed (every call unverified)
until its secret is configured.
"""

import json
import time
from dataclasses import dataclass
from dataclasses import field

from flask import current_app
from werkzeug.datastructures import Headers

from newsletter.bounces import Report


class Unverified(Exception):
    """The call cannot be shown to come from the provider: 401, nothing changes. The
    message says why, for the operator's log (never a secret or an address)."""


class Malformed(Exception):
    """Verified, but not the shape the provider documents: 400, nothing changes."""


@dataclass(frozen=True)
class Call:
    """A webhook call as it arrived: the body's bytes, untouched, and the headers (their
    names case-insensitive)."""

    body: bytes
    headers: Headers


@dataclass(frozen=True)
class Verified:
    """What a verified call reports, and the one-time value it carried (Mailgun's token),
    which a second call may not carry again."""

    reports: list[Report] = field(default_factory=list)
    nonce: str | None = None


def json_body(call: Call) -> object:
    """The body as JSON; :class:`Malformed` if it is not (read only once verified, or to
    find what to verify)."""
    return json_of(call.body)


def json_of(data: bytes) -> object:
    """UTF-8 bytes as JSON; :class:`Malformed` if they are not."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed("the body is not JSON") from None


def check_age(timestamp: float) -> None:
    """A signed timestamp within ``WEBHOOK_MAX_AGE_SECONDS`` of now, either way."""
    if abs(time.time() - timestamp) > current_app.config["WEBHOOK_MAX_AGE_SECONDS"]:
        raise Unverified("the signed timestamp is too old (or in the future): a replay?")


def joined(*parts: str) -> str:
    """The evidence's parts that say something, in one line."""
    return " ".join(part for part in parts if part)


def obj(value: object) -> dict:
    """A JSON value as an object: itself if it is one, else an empty one."""
    return value if isinstance(value, dict) else {}


def text(value: object) -> str:
    """A JSON value as text for evidence: strings as they are, nothing for the rest."""
    return value if isinstance(value, str) else "" if value is None else str(value)
