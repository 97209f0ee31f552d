"""Email addresses: validation and normalisation by email-validator, the uniqueness key,
and the masked forms shown in logs and to the reader.

Most of a validation's cost is the domain's (IDNA 2008 with UTS 46, character by
character), and an import of a million rows has few distinct domains. So the common
address, a plain ASCII mailbox (email-validator's own dot-atom rule) at a domain of ASCII
letters, digits, dots and hyphens, takes a short way (:func:`_plain`): the mailbox is
checked per address by the same rule, the domain's forms are email-validator's, cached
per domain, and the address's lengths are checked as email-validator checks them. Any
other input, and any address the short way is unsure of, takes the whole of
``validate_email``; ``tests/test_properties.py`` holds the two equal on generated and
naughty input.
"""

import re
from functools import cache
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError
from email_validator import validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.rfc_constants import DOT_ATOM_TEXT
from email_validator.rfc_constants import EMAIL_MAX_LENGTH

# RFC 5321 caps a path at 256 octets; anything much longer is refused before parsing.
MAX_INPUT_LENGTH = 320
DNS_TIMEOUT_SECONDS = 3
DOMAINS_CACHED = 4096
# A domain the short way takes: ASCII letters, digits, dots and hyphens (email-validator
# still decides whether it is a valid one, and gives its normalised form).
PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
# An address in free text (for masking): a local part is a quoted string, or anything
# RFC 5322 (or SMTPUTF8) allows unquoted, which takes in ' + ! # $ % & * / = ? ^ ` { | } ~.
ADDRESS_IN_TEXT = re.compile(
    r"""(?:"(?:[^"\\\r\n]|\\.)*"|[^\s<>()\[\],;:@"\\]+)@([^\s<>"'(),;:\[\]@]+)"""
)


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
    if not check_deliverability and (normalized := _plain(text)):
        return normalized
    try:
        info = validate_email(
            text,
            check_deliverability=check_deliverability,
            dns_resolver=_resolver() if check_deliverability else None,
        )
    except EmailNotValidError as error:
        raise InvalidAddress(raw) from error
    return info.normalized


def _plain(text: str) -> str | None:
    """The normalised form of a plain address, as ``validate_email`` would give it; None
    where the address is not plain or the short way cannot tell (the whole way then says).

    For such an address ``validate_email`` splits at the one ``@``, keeps a dot-atom
    mailbox as it is (lower-cased if it is one of RFC 2142's role names), takes the
    domain's normalised form, and checks the three forms' lengths in UTF-8.
    """
    local, at, domain = text.partition("@")
    if not at or not PLAIN_DOMAIN.fullmatch(domain) or not DOT_ATOM_TEXT.match(local):
        return None
    forms = _domain_forms(domain)
    if forms is None:
        return None
    unicode_domain, ascii_domain = forms
    longest = max(len(domain), len(unicode_domain.encode()), len(ascii_domain))
    if len(local) + 1 + longest > EMAIL_MAX_LENGTH:
        return None
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        local = local.lower()
    return f"{local}@{unicode_domain}"


@lru_cache(maxsize=DOMAINS_CACHED)
def _domain_forms(domain: str) -> tuple[str, str] | None:
    """The domain's normalised and ASCII forms, from email-validator itself, once per
    domain; None if it refuses the domain (with the shortest mailbox)."""
    try:
        info = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.domain, info.ascii_domain


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
    """The address as it leaves the process (SMTP, files): ASCII domain, local part as is.

    A Unicode domain takes the ASCII form email-validator gives it (IDNA 2008 with UTS 46);
    the local part may stay UTF-8 (SMTPUTF8 carries it). Python's ``idna`` codec is IDNA
    2003, which maps some names to *another* domain (``straße.de`` to ``strasse.de``, the
    final sigma ``ς`` to ``σ``): it must never pick where mail goes.
    """
    local, _, domain = normalized.rpartition("@")
    if domain.isascii():
        return normalized
    return f"{local}@{_ascii_domain(domain)}"


@lru_cache(maxsize=DOMAINS_CACHED)
def _ascii_domain(domain: str) -> str:
    """The domain's ASCII form, from email-validator itself, once per domain.

    A validation costs a large share of a signup's CPU; the mailbox name plays no part.
    """
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError as error:
        raise InvalidAddress(domain) from error


def mask(text: str) -> str:
    """Hide the whole mailbox of every address in ``text`` (for logs): ``***@example.com``."""
    return ADDRESS_IN_TEXT.sub(lambda match: f"***@{match.group(1)}", text)


def mask_for_reader(normalized: str) -> str:
    """The address as the success message shows it to the reader: ``r***@gmail.com``.

    Unlike :func:`mask` (for logs, where the whole mailbox is hidden) the reader sees the
    mailbox's first character and the whole domain: a typo in the domain (``gmial.com``),
    the kind that loses every email, is plain to see, and the first character tells which
    of their addresses they typed. The rest stays hidden from whoever sees the screen or a
    screenshot, and ``***`` stands for any length (``r@`` shows as ``r***@`` too). The
    domain is shown as normalised, in Unicode (``пример.рф``, not ``xn--e1afmkfd.xn--p1ai``).
    A normalised address has no quoted mailbox (email-validator refuses one), so the first
    character is the mailbox's own; it is composed (NFC), so an accent stays on its letter.
    """
    local, _, domain = normalized.rpartition("@")
    return f"{local[:1]}***@{domain}"


@cache
def _resolver():
    """One caching DNS resolver with a short timeout, shared by all look-ups."""
    return email_validator.caching_resolver(timeout=DNS_TIMEOUT_SECONDS)
