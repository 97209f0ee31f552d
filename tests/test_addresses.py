"""Addresses: email-validator's normalization, the uniqueness key, SMTP form, log masking."""

import pytest

from newsletter import addresses

VALID = [
    "reader@example.com",
    "Reader@Example.COM",
    "  reader@example.com\t",
    "first.last+newsletter@news.example.org",
    "re\u0301sume\u0301@example.com",  # decomposed accents
    "читатель@пример.рф",
    "reader@Bücher.example",
]


@pytest.mark.parametrize("raw", VALID)
def test_normalize_is_idempotent(raw):
    once = addresses.normalize(raw)
    assert addresses.normalize(once) == once


@pytest.mark.parametrize("raw", VALID)
def test_normalized_address_has_no_surrounding_space_and_a_lower_case_domain(raw):
    normalized = addresses.normalize(raw)
    assert normalized == normalized.strip()
    domain = normalized.rpartition("@")[2]
    assert domain == domain.lower()


def test_normalize_keeps_the_local_part_and_lower_cases_the_domain():
    assert addresses.normalize(" Reader@Example.COM ") == "Reader@example.com"


def test_normalize_composes_unicode():
    """Two spellings of the same characters (NFD and NFC) become one address."""
    assert addresses.normalize("re\u0301sume\u0301@example.com") == "r\u00e9sum\u00e9@example.com"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "reader", "reader@example", "a" * 400 + "@example.com", "reader@[127.0.0.1]"],
)
def test_normalize_refuses(raw):
    with pytest.raises(addresses.InvalidAddress):
        addresses.normalize(raw)


def test_overlong_input_is_refused_before_parsing():
    """Longer than MAX_INPUT_LENGTH is refused even when it is mostly white space around."""
    padded = "reader@example.com".center(addresses.MAX_INPUT_LENGTH + 1)
    assert addresses.normalize(padded) == "reader@example.com"
    with pytest.raises(addresses.InvalidAddress):
        addresses.normalize("x" * (addresses.MAX_INPUT_LENGTH + 1))


def test_key_lower_cases():
    assert addresses.key("Reader@example.com") == "reader@example.com"
    assert addresses.key("ЧИТАТЕЛЬ@пример.рф") == "читатель@пример.рф"


def test_casing_variants_share_one_key():
    variants = ["Reader@Example.COM", "  reader@example.com ", "READER@EXAMPLE.COM"]
    keys = {addresses.key(addresses.normalize(variant)) for variant in variants}
    assert keys == {"reader@example.com"}


def test_for_transport_idna_encodes_a_unicode_domain():
    normalized = addresses.normalize("reader@Bücher.example")
    assert normalized == "reader@bücher.example"
    assert addresses.for_transport(normalized) == "reader@xn--bcher-kva.example"


# IDNA 2008 (UTS 46) forms, as registries and mail servers know these domains. IDNA 2003
# (Python's "idna" codec) maps the first two to other domains: strasse.de and xn--4xa.gr.
IDNA_2008 = {
    "straße.de": "xn--strae-oqa.de",
    "ς.gr": "xn--3xa.gr",
    "bücher.example": "xn--bcher-kva.example",
    "приклад.укр": "xn--80aikifvh.xn--j1amh",
    "ß" * 32 + ".de": "xn--zca" + "a" * 31 + ".de",
}


@pytest.mark.parametrize(("domain", "ascii_domain"), IDNA_2008.items())
def test_for_transport_uses_idna_2008(domain, ascii_domain):
    normalized = addresses.normalize(f"victim@{domain}")
    assert normalized == f"victim@{domain}"
    assert addresses.for_transport(normalized) == f"victim@{ascii_domain}"


def test_for_transport_keeps_a_unicode_local_part():
    assert addresses.for_transport("читатель@example.com") == "читатель@example.com"
    assert addresses.for_transport("читатель@пример.рф") == "читатель@xn--e1afmkfd.xn--p1ai"


def test_for_transport_leaves_an_ascii_address_alone():
    assert addresses.for_transport("reader@example.com") == "reader@example.com"


def test_mask_hides_every_mailbox():
    text = "sent to reader@example.com, then to <first.last+x@news.example.org>."
    masked = addresses.mask(text)
    assert masked == "sent to ***@example.com, then to <***@news.example.org>."
    assert "reader" not in masked
    assert "first.last" not in masked


def test_mask_leaves_text_without_addresses_alone():
    text = "Delivered 3 message(s) in 0.2 s"
    assert addresses.mask(text) == text


@pytest.mark.parametrize(
    "local_part",
    [
        "o'brien",
        "a+b",
        "first.last",
        '"quoted"',
        '"john doe"',
        '"with@sign"',
        '"a\\"b"',
        "читатель",
        "!#$%&'*+-/=?^_`{|}~",
    ],
)
def test_mask_hides_the_whole_local_part(local_part):
    """Every character RFC 5322 allows before the @, quoted or not, and Unicode (SMTPUTF8)."""
    for text, masked in [
        (f"{local_part}@example.com", "***@example.com"),
        (f"refused <{local_part}@example.com>: 550", "refused <***@example.com>: 550"),
        (f"to {local_part}@example.com, then", "to ***@example.com, then"),
    ]:
        assert addresses.mask(text) == masked


# What the reader typed → what the success message shows (after normalisation).
SHOWN_TO_READER = [
    pytest.param("reader@gmail.com", "r***@gmail.com", id="plain"),
    pytest.param("r@gmail.com", "r***@gmail.com", id="one-letter-mailbox"),
    pytest.param(" Reader@Gmail.COM ", "R***@gmail.com", id="case-and-space"),
    pytest.param("first.last+news@example.org", "f***@example.org", id="tag"),
    pytest.param("reader@Bücher.example", "r***@bücher.example", id="idn-domain"),
    pytest.param("reader@xn--bcher-kva.example", "r***@bücher.example", id="idn-ascii-domain"),
    pytest.param("читатель@пример.рф", "ч***@пример.рф", id="unicode-address"),
    pytest.param("E\u0301lise@example.com", "\u00c9***@example.com", id="decomposed-accent"),
    pytest.param("reader@gmial.com", "r***@gmial.com", id="domain-typo-visible"),
]


@pytest.mark.parametrize(("raw", "shown"), SHOWN_TO_READER)
def test_mask_for_reader_shows_the_first_character_and_the_whole_domain(raw, shown):
    assert addresses.mask_for_reader(addresses.normalize(raw)) == shown


@pytest.mark.parametrize("raw", ['"reader"@example.com', '"r e a d e r"@example.com'])
def test_a_quoted_mailbox_is_refused_before_any_mask(raw):
    """email-validator refuses quoted local parts: the mask never meets a quote."""
    with pytest.raises(addresses.InvalidAddress):
        addresses.normalize(raw)
