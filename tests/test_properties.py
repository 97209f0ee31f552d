"""Properties that must hold for any input, checked on inputs hypothesis makes up."""

import contextlib
import csv
import io
import os

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy import literal
from sqlalchemy import select

from newsletter import addresses
from newsletter import tokens
from newsletter.export import FORMULA_STARTS
from newsletter.export import neutralised
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.conftest import missing_service

SECRET = "property secret"
# What a text column can hold (no NUL, no lone surrogates) and the CSV must carry.
CELL_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
ADDRESSES = st.emails() | st.text(max_size=60)


@given(ADDRESSES)
def test_normalize_is_idempotent_and_its_key_is_stable(text):
    try:
        normalized = addresses.normalize(text)
    except addresses.InvalidAddress:
        return
    assert addresses.normalize(normalized) == normalized
    assert addresses.key(addresses.key(normalized)) == addresses.key(normalized)
    # However the domain is written, the address keeps one key.
    local, _, domain = normalized.rpartition("@")
    assert addresses.key(addresses.normalize(f"{local}@{domain.upper()}")) == (
        addresses.key(normalized)
    )


@given(st.text(max_size=300))
def test_normalize_refuses_only_with_invalid_address(text):
    """Whatever the text, the answer is an address or InvalidAddress, never a crash."""
    with contextlib.suppress(addresses.InvalidAddress):
        addresses.normalize(text)


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=2**31))
def test_confirm_token_round_trip(public_id, round_):
    token = tokens.make_confirm_token(SECRET, public_id, round_)
    claim = tokens.read_confirm_token(SECRET, token, max_age=3600)
    assert (claim.public_id, claim.round, claim.expired) == (public_id, round_, False)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_unsubscribe_token(SECRET, token)


@given(st.text(min_size=1, max_size=40))
def test_unsubscribe_token_round_trip(public_id):
    token = tokens.make_unsubscribe_token(SECRET, public_id)
    assert tokens.read_unsubscribe_token(SECRET, token) == public_id
    with pytest.raises(tokens.InvalidToken):
        tokens.read_confirm_token(SECRET, token, max_age=3600)


@given(st.text(max_size=250))
def test_any_text_is_a_valid_token_or_invalid_token(text):
    """Tokens come from URLs anyone can type: nothing but InvalidToken may come out."""
    for read in (
        lambda: tokens.read_confirm_token(SECRET, text, max_age=3600),
        lambda: tokens.read_unsubscribe_token(SECRET, text),
    ):
        with contextlib.suppress(tokens.InvalidToken):
            read()


def engines():
    """SQLite always; PostgreSQL when the tests have one (as CI does)."""
    yield pytest.param("sqlite://", id="sqlite")
    yield pytest.param(os.environ.get(POSTGRES_URL_VARIABLE), id="postgresql")


@pytest.fixture(params=list(engines()))
def engine(request):
    if request.param is None:
        missing_service(f"{POSTGRES_URL_VARIABLE} is not set (PostgreSQL tests need it)")
    engine = create_engine(request.param)
    yield engine
    engine.dispose()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CELL_TEXT)
def test_exported_cells_never_start_a_formula_and_survive_csv(engine, cell):
    with engine.connect() as connection:
        exported = connection.execute(select(neutralised(literal(cell)))).scalar_one()
    if cell.startswith(FORMULA_STARTS):
        assert exported == "'" + cell
    else:
        assert exported == cell
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([exported, "next"])
    [row] = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert row == [exported, "next"]
