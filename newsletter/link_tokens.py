"""Links in emails: signed, purpose-bound tokens that carry no address.

A token's payload is readable by anyone (itsdangerous signs, it does not encrypt), so it
holds only opaque public ids: a confirmation's or a subscription's for confirm links, a
subscription's for unsubscribe links, a reader's for manage links. Each purpose signs
with its own salt: a confirm token cannot unsubscribe anyone, a manage token is no
unsubscribe token, and so on. Unsubscribe and manage tokens never expire, so the links
in a years-old email still work.

Confirm tokens expire. Today's name a confirmation (one email, covering the
subscriptions of one signup, each in its round: ``models.Confirmation``); their payload
is the confirmation's ``public_id`` alone. Those sent before confirmations existed name
a subscription and its double opt-in round, ``[public_id, round]``, and keep working.
"""

from dataclasses import dataclass

from itsdangerous import BadData
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeSerializer
from itsdangerous import URLSafeTimedSerializer

CONFIRM_SALT = "newsletter.confirm"
UNSUBSCRIBE_SALT = "newsletter.unsubscribe"
MANAGE_SALT = "newsletter.manage"
MAX_LINK_TOKEN_LENGTH = 200


class InvalidToken(ValueError):
    """Tampered, truncated, of another purpose, or not a token at all."""


@dataclass(frozen=True)
class ConfirmClaim:
    """What a confirm token says: which confirmation (or, for a link sent before
    confirmations existed, which subscription and round), and whether it expired."""

    public_id: str
    round: int | None  # None: ``public_id`` names a confirmation
    expired: bool = False


def make_confirm_token(secret: str, public_id: str, round_: int) -> str:
    """A token that confirms round ``round_`` of the subscription ``public_id`` (the form
    of links sent before confirmations existed; made here for their tests)."""
    return URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).dumps([public_id, round_])


def make_confirmation_token(secret: str, public_id: str) -> str:
    """A token that confirms what the confirmation ``public_id`` covers."""
    return URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).dumps(public_id)


def read_confirm_token(secret: str, token: str, max_age: int) -> ConfirmClaim:
    """Check a confirm token. An expired one is still returned (flagged) to offer a new link."""
    serializer = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT)
    _check_length(token)
    try:
        payload = serializer.loads(token, max_age=max_age)
        expired = False
    except SignatureExpired as error:
        payload = _expired_payload(serializer, error)
        expired = True
    except BadData as error:
        raise InvalidToken from error
    public_id, round_ = _unpack(payload)
    return ConfirmClaim(public_id, round_, expired)


def make_unsubscribe_token(secret: str, public_id: str) -> str:
    """A token that unsubscribes the subscription ``public_id``, valid for ever."""
    return URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT).dumps(public_id)


def read_unsubscribe_token(secret: str, token: str) -> str:
    """The subscription ``public_id`` an unsubscribe token names, or :class:`InvalidToken`."""
    return _read_lasting(secret, UNSUBSCRIBE_SALT, token)


def make_manage_token(secret: str, reader_public_id: str) -> str:
    """A token that opens the reader's manage page, valid for ever."""
    return URLSafeSerializer(secret, salt=MANAGE_SALT).dumps(reader_public_id)


def read_manage_token(secret: str, token: str) -> str:
    """The reader ``public_id`` a manage token names, or :class:`InvalidToken`."""
    return _read_lasting(secret, MANAGE_SALT, token)


def _read_lasting(secret: str, salt: str, token: str) -> str:
    """The ``public_id`` a never-expiring token of the purpose ``salt`` names."""
    _check_length(token)
    try:
        public_id = URLSafeSerializer(secret, salt=salt).loads(token)
    except BadData as error:
        raise InvalidToken from error
    if not isinstance(public_id, str):
        raise InvalidToken
    return public_id


def _check_length(token: str) -> None:
    """Refuse absurd input before spending an HMAC on it."""
    if len(token) > MAX_LINK_TOKEN_LENGTH:
        raise InvalidToken


def _expired_payload(serializer: URLSafeTimedSerializer, error: SignatureExpired) -> object:
    """The payload of a token whose signature is good but whose time is up."""
    if not isinstance(error.payload, bytes):
        raise InvalidToken
    try:
        return serializer.load_payload(error.payload)
    except BadData as bad:
        raise InvalidToken from bad


def _unpack(payload: object) -> tuple[str, int | None]:
    """Validate the shape of a confirm payload signed by us (defence in depth)."""
    match payload:
        case str() as public_id:
            return public_id, None
        case [str() as public_id, int() as round_]:
            return public_id, round_
    raise InvalidToken
