"""Email addresses: validation and normalisation by email-validator, and the uniqueness key."""

import re
from functools import cache

import email_validator
from email_validator import EmailNotValidError
from email_validator import validate_email

# RFC 5321 caps a path at 256 octets; anything much longer is refused before parsing.
MAX_INPUT_LENGTH = 320
DNS_TIMEOUT_SECONDS = 3
ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'(),;:\[\]]+@([^\s<>\"'(),;:\[\]]+)")


class InvalidAddress(ValueError):
    """The text is not an address we can send to."""


def normalize(raw: str, *, check_deliverability: bool = False) -> str:
    """Return the normalised address, or raise :class:`InvalidAddress`.

    Surrounding white space is forgiven; anything email-validator refuses is not. With
    ``check_deliverability`` the domain must have MX or A records (a DNS timeout passes:
    double opt-in is the real proof that the mailbox exists).
    """
    text = raw.strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise InvalidAddress(raw)
    try:
        info = validate_email(
            text,
            check_deliverability=check_deliverability,
            dns_resolver=_resolver() if check_deliverability else None,
        )
    except EmailNotValidError as error:
        raise InvalidAddress(raw) from error
    return info.normalized


def key(normalized: str) -> str:
    """The form on which two addresses count as the same subscriber: case does not matter."""
    return normalized.lower()


def mailbox(normalized: str) -> str:
    """The inbox an address most likely reaches, for throttles (never for identity).

    ``+tag`` is dropped (sub-addressing at most providers), and at Gmail dots too, with
    googlemail.com as gmail.com: ``V.ictim+1@googlemail.com`` is ``victim@gmail.com``.
    """
    local, _, domain = key(normalized).rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def for_transport(normalized: str) -> str:
    """The address as SMTP wants it: ASCII (IDNA) domain; the local part may stay UTF-8."""
    local, _, domain = normalized.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def mask(text: str) -> str:
    """Hide the mailbox of every address in ``text`` (for logs): ``***@example.com``."""
    return ADDRESS_IN_TEXT.sub(lambda match: f"***@{match.group(1)}", text)


@cache
def _resolver():
    """One caching DNS resolver with a short timeout, shared by all look-ups."""
    return email_validator.caching_resolver(timeout=DNS_TIMEOUT_SECONDS)
