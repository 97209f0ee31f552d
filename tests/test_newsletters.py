"""Newsletters' allowed origins: what ends up in CORS and Content-Security-Policy headers."""

import pytest

from newsletter.newsletters import MAX_ORIGINS
from newsletter.newsletters import InvalidNewsletter
from newsletter.newsletters import normalize_origin
from newsletter.newsletters import normalize_origins


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("https://news.example.com", "https://news.example.com"),
        ("HTTPS://News.Example.COM", "https://news.example.com"),
        ("https://news.example.com/", "https://news.example.com"),
        ("  https://news.example.com  ", "https://news.example.com"),
        ("https://news.example.com:443", "https://news.example.com"),
        ("http://news.example.com:80", "http://news.example.com"),
        ("https://news.example.com:8443", "https://news.example.com:8443"),
        ("http://news.example.com:443", "http://news.example.com:443"),
        ("https://news.example.com:80", "https://news.example.com:80"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_normalize_origin(value, origin):
    assert normalize_origin(value) == origin


@pytest.mark.parametrize("value", ["https://News.Example.com:443/", "http://LOCALHOST:5000"])
def test_normalize_origin_is_idempotent(value):
    once = normalize_origin(value)
    assert normalize_origin(once) == once


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("https://news.example.com/path", id="path"),
        pytest.param("https://news.example.com/?", id="empty-query"),
        pytest.param("https://news.example.com?a=1", id="query"),
        pytest.param("https://news.example.com#top", id="fragment"),
        pytest.param("https://user@news.example.com", id="user"),
        pytest.param("https://user:secret@news.example.com", id="user-and-password"),
        pytest.param("https://:secret@news.example.com", id="password"),
        pytest.param("https://*.example.com", id="wildcard-subdomain"),
        pytest.param("*", id="wildcard"),
        pytest.param("https://news.example.com'", id="single-quote"),
        pytest.param('"https://news.example.com"', id="double-quotes"),
        pytest.param("'self'", id="csp-keyword"),
        pytest.param("https://news.example.com; script-src *", id="csp-injection"),
        pytest.param("https://news.example.com\r\nX-Injected: 1", id="header-injection"),
        pytest.param("https://news example.com", id="space"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:text/html,hello", id="data"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("ftp://news.example.com", id="ftp"),
        pytest.param("ws://news.example.com", id="websocket"),
        pytest.param("news.example.com", id="no-scheme"),
        pytest.param("//news.example.com", id="scheme-relative"),
        pytest.param("https://", id="no-host"),
        pytest.param("null", id="null-origin"),
        pytest.param("", id="empty"),
        pytest.param("https://news.example.com:99999", id="port-out-of-range"),
        pytest.param("https://news.example.com:http", id="port-not-a-number"),
        pytest.param("https://news_example.com", id="underscore"),
        pytest.param("https://bücher.example", id="unicode-host"),
    ],
)
def test_normalize_origin_refuses(value):
    with pytest.raises(InvalidNewsletter):
        normalize_origin(value)


def test_normalize_origins_drops_repeats_and_keeps_the_order():
    values = [
        "https://b.example",
        "https://A.example:443",
        "https://a.example/",
        "http://a.example",
        "https://b.example",
    ]
    assert normalize_origins(values) == [
        "https://b.example",
        "https://a.example",
        "http://a.example",
    ]


def test_normalize_origins_refuses_too_many():
    many = [f"https://site{number}.example" for number in range(MAX_ORIGINS + 1)]
    assert len(normalize_origins(many[:MAX_ORIGINS])) == MAX_ORIGINS
    with pytest.raises(InvalidNewsletter):
        normalize_origins(many)


def test_one_bad_origin_refuses_the_list():
    with pytest.raises(InvalidNewsletter):
        normalize_origins(["https://good.example", "https://bad.example/path"])
