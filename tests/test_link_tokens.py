"""Tokens in email links: purpose-bound, tamper-evident, expiring, and free of addresses."""

import time
import types

import itsdangerous.timed
import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from newsletter import link_tokens
from newsletter.db import database
from newsletter.models import Confirmation
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.reader import subscriptions

SECRET = "test secret key"
PUBLIC_ID = "Jr3a0cJ8m1h2YkZVv9Qe6w"
WEEK = 7 * 24 * 3600
DAY = 24 * 3600


def made_ago(monkeypatch, seconds: int, make):
    """Call ``make`` with itsdangerous's clock set ``seconds`` in the past."""
    past = time.time() - seconds
    # A context of its own: undoing it leaves the test's other patches in place.
    with monkeypatch.context() as clock:
        clock.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: past))
        return make()


def test_confirm_token_round_trip():
    token = link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 3)
    claim = link_tokens.read_confirm_token(SECRET, token, max_age=WEEK)
    assert claim == link_tokens.ConfirmClaim(PUBLIC_ID, 3, expired=False)


def test_unsubscribe_token_round_trip():
    token = link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID)
    assert link_tokens.read_unsubscribe_token(SECRET, token) == PUBLIC_ID


def test_manage_token_round_trip():
    token = link_tokens.make_manage_token(SECRET, PUBLIC_ID)
    assert link_tokens.read_manage_token(SECRET, token) == PUBLIC_ID


def test_tokens_fit_in_a_url_and_under_the_length_cap():
    for token in (
        link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1),
        link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID),
        link_tokens.make_manage_token(SECRET, PUBLIC_ID),
    ):
        assert len(token) <= link_tokens.MAX_LINK_TOKEN_LENGTH
        assert set(token) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        )


def test_confirm_token_does_not_unsubscribe():
    token = link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, token)


def test_unsubscribe_token_does_not_confirm():
    token = link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, token, max_age=WEEK)


def test_manage_and_unsubscribe_tokens_are_not_each_other():
    """Both never expire and both carry one id: only the purpose's salt tells them apart."""
    manage = link_tokens.make_manage_token(SECRET, PUBLIC_ID)
    unsubscribe = link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, manage)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_manage_token(SECRET, unsubscribe)


def test_confirm_token_does_not_open_the_manage_page():
    token = link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_manage_token(SECRET, token)


def test_token_signed_with_another_key_is_refused():
    confirm = link_tokens.make_confirm_token("another key", PUBLIC_ID, 1)
    unsubscribe = link_tokens.make_unsubscribe_token("another key", PUBLIC_ID)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, confirm, max_age=WEEK)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, unsubscribe)


def flip(token: str, index: int) -> str:
    """The token with one character changed."""
    replacement = "B" if token[index] == "A" else "A"
    return token[:index] + replacement + token[index + 1 :]


# What mail programs and people do to links: cut them, change a character, add junk.
DAMAGE = [
    pytest.param(lambda token: token[:-1], id="last-character-cut"),
    pytest.param(lambda token: token[: len(token) // 2], id="cut-in-half"),
    pytest.param(lambda token: token.split(".")[0], id="payload-only"),
    pytest.param(lambda token: flip(token, 0), id="payload-changed"),
    pytest.param(lambda token: flip(token, len(token) - 2), id="signature-changed"),
    pytest.param(lambda token: token + "A", id="character-added"),
    pytest.param(lambda token: token + ".", id="separator-added"),
    pytest.param(lambda token: "", id="empty"),
    pytest.param(lambda token: ".", id="separator-only"),
    pytest.param(lambda token: "not a token", id="text"),
    pytest.param(lambda token: token + "x" * link_tokens.MAX_LINK_TOKEN_LENGTH, id="overlong"),
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_confirm_token_is_invalid(damage):
    token = damage(link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1))
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, token, max_age=WEEK)


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_manage_token_is_invalid(damage):
    token = damage(link_tokens.make_manage_token(SECRET, PUBLIC_ID))
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_manage_token(SECRET, token)


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_unsubscribe_token_is_invalid(damage):
    token = damage(link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID))
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, token)


def test_signed_payload_of_the_wrong_shape_is_invalid():
    """Even a correctly signed value is refused unless it is what we put in a token."""
    confirm = itsdangerous.URLSafeTimedSerializer(SECRET, salt=link_tokens.CONFIRM_SALT)
    for payload in (42, [PUBLIC_ID], [PUBLIC_ID, "1"], [1, 1], {"id": PUBLIC_ID}):
        with pytest.raises(link_tokens.InvalidToken):
            link_tokens.read_confirm_token(SECRET, confirm.dumps(payload), max_age=WEEK)
    unsubscribe = URLSafeSerializer(SECRET, salt=link_tokens.UNSUBSCRIBE_SALT)
    for payload in ([PUBLIC_ID], 42, None):
        with pytest.raises(link_tokens.InvalidToken):
            link_tokens.read_unsubscribe_token(SECRET, unsubscribe.dumps(payload))


def test_expired_confirm_token_is_flagged_with_its_subscription(monkeypatch):
    """Eight days old against a seven-day limit: still read, marked expired, to offer a new link."""
    token = made_ago(
        monkeypatch, 8 * DAY, lambda: link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 2)
    )
    claim = link_tokens.read_confirm_token(SECRET, token, max_age=WEEK)
    assert claim.expired is True
    assert claim.public_id == PUBLIC_ID
    assert claim.round == 2


def test_confirm_token_within_its_age_is_not_expired(monkeypatch):
    token = made_ago(
        monkeypatch, 6 * DAY, lambda: link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1)
    )
    assert link_tokens.read_confirm_token(SECRET, token, max_age=WEEK).expired is False


def test_expired_and_tampered_confirm_token_is_invalid(monkeypatch):
    """Expiry never excuses a bad signature."""
    token = made_ago(
        monkeypatch, 8 * DAY, lambda: link_tokens.make_confirm_token(SECRET, PUBLIC_ID, 1)
    )
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, flip(token, len(token) - 2), max_age=WEEK)


def test_unsubscribe_token_never_expires(monkeypatch):
    """The link in a years-old email still works."""
    token = made_ago(
        monkeypatch, 5 * 365 * DAY, lambda: link_tokens.make_unsubscribe_token(SECRET, PUBLIC_ID)
    )
    assert link_tokens.read_unsubscribe_token(SECRET, token) == PUBLIC_ID


def payload_of(token: str, fields: int) -> object:
    """What anyone can read in a token without the key (itsdangerous signs, not encrypts)."""
    payload = token.rsplit(".", fields - 1)[0]
    return URLSafeSerializer("no key needed to read").load_payload(payload.encode())


def test_emailed_tokens_carry_no_address(app, client, runner, mailbox):
    """The links a reader receives name their confirmation or subscription by its opaque
    id only."""
    address = "reader.private@example.com"
    sign_up(client, address)
    deliver(runner)
    confirm_path = link_path(mailbox.messages[0], "/confirm/")
    client.post(confirm_path)
    deliver(runner)
    unsubscribe_path = link_path(mailbox.messages[1], "/unsubscribe/")
    [subscription] = subscriptions(app)
    with app.app_context(), database(app).transaction() as session:
        confirmation_id = session.scalars(select(Confirmation.public_id)).one()

    confirm_token = confirm_path.removeprefix("/confirm/")
    unsubscribe_token = unsubscribe_path.removeprefix("/unsubscribe/")
    assert payload_of(confirm_token, 3) == confirmation_id
    assert payload_of(unsubscribe_token, 2) == subscription.public_id
    for token, fields in ((confirm_token, 3), (unsubscribe_token, 2)):
        readable = str(payload_of(token, fields))
        assert "@" not in readable
        assert "reader" not in readable
        assert "@" not in token
