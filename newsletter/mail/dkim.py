"""DKIM signatures (RFC 6376) on the mail the worker sends, and the DNS record to publish.

Configured by ``NEWSLETTER_DKIM_PRIVATE_KEY`` (the path of a PEM RSA key),
``NEWSLETTER_DKIM_SELECTOR`` and ``NEWSLETTER_DKIM_DOMAIN``: all three, or none. The key
is read and checked when the app starts, so a missing, unreadable or broken key stops
``serve`` and ``worker`` with the operator's words instead of failing the first delivery.

A message is signed when it is sent, not when it is queued: the outbox keeps what was
rendered, and a key changed meanwhile signs with the new one. Signed are the headers
SPEC lists that the message has, with relaxed/relaxed canonicalisation (mail servers on
the way may refold headers and trailing spaces without breaking it).
"""

import base64
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat
from dkim.crypto import UnparsableKeyError
from dkim.crypto import parse_pem_private_key
from flask import Flask
from flask import current_app

from newsletter.config import ConfigurationError

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
SETTINGS = ("DKIM_PRIVATE_KEY", "DKIM_SELECTOR", "DKIM_DOMAIN")
CANONICALISATION = (b"relaxed", b"relaxed")


@dataclass(frozen=True)
class Signer:
    """Signs messages for one domain with one key."""

    selector: str
    domain: str
    private_key: bytes  # PEM

    def sign(self, raw: str) -> str:
        """The message with its DKIM-Signature header first."""
        message = raw.encode("utf-8")
        present = _header_names(message)
        include = [name.encode() for name in SIGNED_HEADERS if name.lower() in present]
        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=CANONICALISATION,
            include_headers=include,
        )
        return signature.decode("ascii") + raw

    def dns_name(self) -> str:
        """Where the public key is published."""
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_value(self) -> str:
        """The TXT record's text: the public key of ours, as DKIM verifiers read it."""
        return f"v=DKIM1; k=rsa; p={public_key_base64(self.private_key)}"


def public_key_base64(private_pem: bytes) -> str:
    """The base64 DER SubjectPublicKeyInfo of an RSA private key in PEM."""
    key = parse_pem_private_key(private_pem)
    public = rsa.RSAPublicNumbers(key["publicExponent"], key["modulus"]).public_key()
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(spki).decode("ascii")


def load(config: dict) -> Signer | None:
    """The signer the settings describe, None when DKIM is off; or ConfigurationError."""
    given = [name for name in SETTINGS if config.get(name)]
    if not given:
        return None
    if len(given) < len(SETTINGS):
        missing = ", ".join(f"NEWSLETTER_{name}" for name in SETTINGS if name not in given)
        raise ConfigurationError(f"DKIM is half configured: set {missing} too, or none")
    path = Path(config["DKIM_PRIVATE_KEY"])
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"NEWSLETTER_DKIM_PRIVATE_KEY: cannot read {path}: {error.strerror}"
        ) from error
    try:
        parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError) as error:
        raise ConfigurationError(
            f"NEWSLETTER_DKIM_PRIVATE_KEY: {path} is not a PEM RSA private key"
        ) from error
    return Signer(str(config["DKIM_SELECTOR"]), str(config["DKIM_DOMAIN"]), pem)


def init_app(app: Flask) -> None:
    """Read and check the key once, at start (see the module's docstring)."""
    app.extensions["dkim_signer"] = load(app.config)


def app_signer() -> Signer | None:
    """The current app's signer, None when DKIM is off."""
    return current_app.extensions["dkim_signer"]


def _header_names(message: bytes) -> set[str]:
    """The lower-cased names of the message's header fields."""
    head = message.split(b"\r\n\r\n", 1)[0]
    return {
        line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        for line in head.split(b"\r\n")
        if line and not line[:1].isspace()
    }
