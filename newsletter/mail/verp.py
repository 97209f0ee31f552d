"""VERP return paths: each message's envelope sender names it, so a bounce finds it.

With ``BOUNCE_ADDRESS`` set (say ``bounces@news.example.org``), a message goes out with the
envelope sender ``bounces+<token>@news.example.org``, where the token is the unique part of
its Message-ID. A mail server that cannot deliver it sends the bounce there, and the report
names the message even when it quotes nothing of it (``newsletter.bounces``). Without the
setting the envelope sender is the message's sender, as before.
"""

import re
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app

# Our Message-IDs are <kind.hex@host> (``mail.messages``): the token is the left part.
TOKEN = re.compile(r"[a-z_]{1,32}\.[0-9a-f]{24}")
MESSAGE_ID = re.compile(rf"<({TOKEN.pattern})@[^<>\s]+>")


def envelope_sender(sender: str, message_id: str) -> str:
    """The envelope sender of a message: its VERP return path, or ``sender`` unset."""
    bounce_address = current_app.config["BOUNCE_ADDRESS"]
    match = MESSAGE_ID.fullmatch(message_id)
    if not bounce_address or match is None:
        return sender
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{match.group(1)}@{domain}"


def token_of(address: str) -> str | None:
    """The token in a VERP return path of ours (``bounces+TOKEN@domain``), or None."""
    bounce_address = current_app.config["BOUNCE_ADDRESS"]
    if not bounce_address:
        return None
    local, _, domain = bounce_address.rpartition("@")
    given_local, _, given_domain = parseaddr(address)[1].rpartition("@")
    base, plus, token = given_local.partition("+")
    if not plus or base.lower() != local.lower() or given_domain.lower() != domain.lower():
        return None
    return token if TOKEN.fullmatch(token) else None


def message_id_of(token: str) -> str:
    """The Message-ID a token came from (our identifiers' domain is the public host)."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<{token}@{host}>"
