"""Signing up from our own pages: the seed page's words, bad input, and what is stored."""

from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from email_validator import validate_email
from sqlalchemy import select

from newsletter.db import database
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from newsletter.models import SubscriptionStatus
from tests.reader import SENT_TO_READER
from tests.reader import count
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import link_path
from tests.reader import sign_up
from tests.reader import subscriptions

SLUG = "explaining-ukraine"
PAGE = f"/newsletters/{SLUG}"
SUBSCRIBE = f"{PAGE}/subscribe"
INVALID_ADDRESS = "Please, enter correct email address"
SUCCESS_TITLE = "Successfully subscribed"
VOID_ELEMENTS = frozenset({"area", "br", "col", "hr", "img", "input", "link", "meta", "source"})


class Element:
    """One element of a parsed page: its tag, attributes and the text inside it."""

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


class Page(HTMLParser):
    """A page as a reader (or a screen reader) meets it: elements, ids, visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        for element in self._open:
            element.parts.append(data)

    @property
    def text(self) -> str:
        """All the text, white space collapsed, as it reads on screen."""
        return " ".join("".join(self._parts).split())

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            element
            for element in self.elements
            if element.tag == tag
            and all(element.attrs.get(name) == value for name, value in attrs.items())
        ]

    def by_id(self, element_id: str) -> Element:
        [element] = [item for item in self.elements if item.attrs.get("id") == element_id]
        return element

    def email_inputs(self) -> list[Element]:
        return self.find_all("input", name="email")


def assert_error_next_to_field(html: str, message: str) -> None:
    """The message is tied to the address field the way assistive technology reads it."""
    page = Page(html)
    [field] = page.email_inputs()
    assert field.attrs.get("aria-invalid") == "true"
    described_by = field.attrs.get("aria-describedby")
    assert described_by, "the field does not point at its error message"
    assert page.by_id(described_by).text == message
    [label] = page.find_all("label", **{"for": field.attrs["id"]})
    assert "Enter your email to subscribe" in label.text


def assert_nothing_stored(app) -> None:
    assert count(app, Subscription) == 0
    assert count(app, SignupRequest) == 0
    assert count(app, SubscriptionEvent) == 0
    assert count(app, OutboxMessage) == 0


def post_encoded(client, encoded_email: bytes):
    """Submit the form with the address exactly as these URL-encoded bytes."""
    token = csrf_token(client.get(PAGE).text)
    body = urlencode({"csrf_token": token}).encode() + b"&email=" + encoded_email
    return client.post(SUBSCRIBE, data=body, content_type="application/x-www-form-urlencoded")


def test_signup_page_shows_the_seed_texts(app, client):
    """The newsletter's page reads like the article's form the product was born from."""
    response = client.get(PAGE)
    assert response.status_code == 200
    page = Page(response.text)
    assert "Explaining Ukraine with Kate Tsurkan" in page.text
    assert "Enter your email to subscribe" in page.text
    assert "* indicates required" in page.text
    [button] = page.find_all("button", type="submit")
    assert button.text == "Subscribe"
    [field] = page.email_inputs()
    [label] = page.find_all("label", **{"for": field.attrs["id"]})
    assert "Enter your email to subscribe" in label.text
    assert "aria-invalid" not in field.attrs
    assert INVALID_ADDRESS not in page.text


def test_invalid_address_shows_the_message_next_to_the_field(app, client):
    response = sign_up(client, "not an address")
    assert response.status_code == 422
    assert_error_next_to_field(response.text, INVALID_ADDRESS)
    [field] = Page(response.text).email_inputs()
    assert field.attrs["value"] == "not an address"  # kept for the reader to correct
    assert_nothing_stored(app)


def test_success_page_shows_the_seed_texts(app, client):
    response = sign_up(client, "reader@example.com")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    page = Page(thanks.text)
    assert SUCCESS_TITLE in page.text
    assert SENT_TO_READER in page.text


LOCAL_64 = "a" * 64
LONG_DOMAIN = ".".join(["b" * 50] * 4) + ".com"  # 207 characters, each label valid

INVALID_ADDRESSES = [
    pytest.param("", id="empty"),
    pytest.param("     ", id="only-spaces"),
    pytest.param("plainaddress", id="no-at-sign"),
    pytest.param("@example.com", id="no-local-part"),
    pytest.param("reader@", id="no-domain"),
    pytest.param("a@@example.com", id="two-at-signs"),
    pytest.param("a b@example.com", id="space-in-local-part"),
    pytest.param("reader@example.com\r\nBcc: x@example.com", id="header-injection"),
    pytest.param("reader@exa mple.com", id="space-in-domain"),
    pytest.param("a" * (400 - len("@example.com")) + "@example.com", id="400-characters"),
    pytest.param("a" * 65 + "@" + LONG_DOMAIN, id="long-local-part-and-total"),
    pytest.param(LOCAL_64 + "@" + LONG_DOMAIN, id="total-over-254"),
    pytest.param("reader@" + "c" * 64 + ".com", id="domain-label-over-63"),
    pytest.param("reader@[127.0.0.1]", id="ip-literal"),
    pytest.param("reader@localhost", id="localhost"),
    pytest.param("reader@example", id="domain-without-dot"),
    pytest.param("rea\x00der@example.com", id="nul-character"),
    pytest.param("\u202ereader@example.com", id="bidi-override"),
    pytest.param("☃☃☃", id="snowmen"),
    pytest.param("reader@-example.com", id="domain-label-starts-with-hyphen"),
    pytest.param("reader@example..com", id="empty-domain-label"),
    pytest.param(".reader@example.com", id="local-part-starts-with-dot"),
    pytest.param("Reader <reader@example.com>", id="display-name"),
    pytest.param('"><script>alert(1)</script>@example.com', id="markup"),
    # A lone surrogate cannot be encoded by the test client as text; these are the bytes
    # a client would send for it: U+DCFF encoded as if it were a character, and the
    # raw byte it stands for under Python's surrogateescape.
    pytest.param(b"%ED%B3%BF", id="lone-surrogate-as-utf-8"),
    pytest.param(b"%FF", id="invalid-utf-8-byte"),
]


@pytest.mark.parametrize("email", INVALID_ADDRESSES)
def test_invalid_address_is_refused_and_nothing_is_stored(app, client, email):
    """Each bad address: 422, the form again with the message, no row, no email queued."""
    submit = post_encoded if isinstance(email, bytes) else sign_up
    response = submit(client, email)
    assert response.status_code == 422
    assert_error_next_to_field(response.text, INVALID_ADDRESS)
    assert "<script>" not in response.text
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    "email", ["Reader@Example.COM", "  reader@example.com ", "READER@EXAMPLE.COM"]
)
def test_address_is_stored_normalized(app, client, runner, email):
    """The stored address is email-validator's normalized form: trimmed, domain lower-case."""
    assert sign_up(client, email).status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    expected = validate_email(email.strip(), check_deliverability=False).normalized
    assert subscription.email == expected
    assert subscription.email.rpartition("@")[2] == "example.com"
    assert subscription.reader.email_key == "reader@example.com"


def test_casing_and_spaces_make_one_subscription(app, client, runner):
    """However it is typed, one address is one subscription with one confirmation."""
    for email in ("Reader@Example.COM", "  reader@example.com ", "READER@EXAMPLE.COM"):
        response = sign_up(client, email)
        assert response.status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    first = validate_email("Reader@Example.COM", check_deliverability=False)
    assert subscription.email == first.normalized
    assert count(app, OutboxMessage) == 1


def message_to(mailbox, address: str, prefix: str):
    """The one email to ``address`` with a link starting with ``prefix``."""
    found = []
    for message in mailbox.messages:
        if message["To"] != address:
            continue
        try:
            found.append(link_path(message, prefix))
        except AssertionError:
            continue
    [path] = found
    return path


def test_answer_does_not_reveal_whether_an_address_is_subscribed(app, client, runner, mailbox):
    """New, pending, confirmed and unsubscribed addresses get the very same answer.

    The answer echoes the address masked, so these all mask alike (r***@example.com).
    """
    for email in (
        "reader.pending@example.com",
        "reader.confirmed@example.com",
        "reader.gone@example.com",
    ):
        assert sign_up(client, email).status_code == 303
    deliver(runner)
    for email in ("reader.confirmed@example.com", "reader.gone@example.com"):
        confirmed = client.post(message_to(mailbox, email, "/confirm/"))
        assert confirmed.status_code == 303
    deliver(runner)
    unsubscribed = client.post(message_to(mailbox, "reader.gone@example.com", "/unsubscribe/"))
    assert unsubscribed.status_code == 200
    statuses = {item.email: item.status for item in subscriptions(app)}
    assert statuses == {
        "reader.pending@example.com": SubscriptionStatus.PENDING,
        "reader.confirmed@example.com": SubscriptionStatus.CONFIRMED,
        "reader.gone@example.com": SubscriptionStatus.UNSUBSCRIBED,
    }

    answers = {}
    for email in (
        "reader.new@example.com",
        "reader.pending@example.com",
        "reader.confirmed@example.com",
        "reader.gone@example.com",
    ):
        response = sign_up(client, email)
        followed = client.get(response.headers["Location"])
        # The signed parameter carries the second it was made: left out of the comparison.
        location, _, query = response.headers["Location"].partition("?")
        answers[email] = (
            response.status_code,
            location,
            response.text.replace(query, ""),
            followed.status_code,
            followed.text,
        )
    assert len(set(answers.values())) == 1, answers
    [(status, location, _body, followed_status, followed_text)] = set(answers.values())
    assert (status, followed_status) == (303, 200)
    assert location == f"{PAGE}/subscribed"
    assert SENT_TO_READER in Page(followed_text).text


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not-a-token", id="wrong"),
        pytest.param("IjAxMjM0NTY3ODkwMTIzNDU2Nzg5MCI.aaaaaa.bbbbbbbbbbbbbbbb", id="forged"),
    ],
)
def test_form_without_a_valid_csrf_token_is_refused(app, client, runner, token):
    """400 with the form shown again and a message; a fresh token on it then works."""
    client.get(PAGE)  # the reader has a session, just not this form's token
    data = {"email": "reader@example.com"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(SUBSCRIBE, data=data)
    assert response.status_code == 400
    page = Page(response.text)
    [field] = page.email_inputs()
    error = page.by_id(field.attrs["aria-describedby"]).text
    assert error
    assert error != INVALID_ADDRESS
    assert_nothing_stored(app)

    retry = client.post(
        SUBSCRIBE, data={"email": "reader@example.com", "csrf_token": csrf_token(response.text)}
    )
    assert retry.status_code == 303
    deliver(runner)
    assert len(subscriptions(app)) == 1


def test_token_from_another_session_is_refused(app, client):
    """A token lifted from someone else's form does not work in this browser."""
    token = csrf_token(app.test_client().get(PAGE).text)
    response = client.post(SUBSCRIBE, data={"email": "reader@example.com", "csrf_token": token})
    assert response.status_code == 400
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param("no-such-newsletter", id="unknown"),
        pytest.param("x" * 65, id="over-64-characters"),
        pytest.param("nul%00byte", id="nul-byte"),
        pytest.param("snow%E2%98%83man", id="non-ascii"),
        pytest.param("%FF", id="invalid-utf-8"),
    ],
)
def test_unknown_newsletter_is_404(app, client, slug):
    """GET and POST, with or without a valid form token, find nothing: 404, never 500."""
    token = csrf_token(client.get(PAGE).text)
    assert client.get(f"/newsletters/{slug}").status_code == 404
    assert client.get(f"/newsletters/{slug}/subscribed").status_code == 404
    subscribe = f"/newsletters/{slug}/subscribe"
    with_token = client.post(subscribe, data={"email": "reader@example.com", "csrf_token": token})
    assert with_token.status_code == 404
    without_token = client.post(subscribe, data={"email": "reader@example.com"})
    assert without_token.status_code == 404
    assert_nothing_stored(app)


def test_front_page_lists_the_newsletter_with_its_form(app, client):
    response = client.get("/")
    assert response.status_code == 200
    page = Page(response.text)
    assert "Explaining Ukraine with Kate Tsurkan" in page.text
    [form] = page.find_all("form", action=SUBSCRIBE)
    assert form.attrs["method"] == "post"
    assert len(page.email_inputs()) == 1


def test_front_page_shows_every_newsletter_with_distinct_fields(app, client, runner):
    """Several forms on one page: each field has its own id, and each label finds its own."""
    result = runner.invoke(
        args=["newsletters", "create", "--slug", "weekly-digest", "--name", "The Weekly Digest"]
    )
    assert result.exit_code == 0, result.output
    page = Page(client.get("/").text)
    assert "The Weekly Digest" in page.text
    assert len(page.find_all("form", action=SUBSCRIBE)) == 1
    assert len(page.find_all("form", action="/newsletters/weekly-digest/subscribe")) == 1
    ids = [field.attrs["id"] for field in page.email_inputs()]
    assert len(ids) == 2
    assert len(set(ids)) == 2
    for field_id in ids:
        assert len(page.find_all("label", **{"for": field_id})) == 1

    # The second newsletter's form works from the front page.
    response = client.post(
        "/newsletters/weekly-digest/subscribe",
        data={"email": "reader@example.com", "csrf_token": csrf_token(client.get("/").text)},
    )
    assert response.status_code == 303
    deliver(runner)
    with app.app_context(), database(app).transaction() as session:
        signed_up_to = session.scalars(select(Newsletter.slug).join(Subscription)).all()
    assert signed_up_to == ["weekly-digest"]


def test_consent_evidence_is_stored(app, client, runner):
    """When, from which address and browser, and from which page the reader signed up."""
    article = "https://news.example.org/2024/05/ukraine-explained?ref=footer"
    response = sign_up(
        client, "reader@example.com", **{"User-Agent": "Reader's browser/1.0", "Referer": article}
    )
    assert response.status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.signup_at is not None
    assert subscription.signup_ip == "127.0.0.1"
    assert subscription.signup_user_agent == "Reader's browser/1.0"
    assert subscription.source == "web"
    assert subscription.source_url == article
    assert subscription.confirmed_at is None


def test_consent_evidence_keeps_no_control_characters(app, client, runner):
    """Browser-supplied headers with control characters are stored cleaned, not refused."""
    response = sign_up(
        client,
        "reader@example.com",
        **{"User-Agent": "Agent\x00/1.0\x07", "Referer": "https://news.example.org/a\x00b"},
    )
    assert response.status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.signup_user_agent == "Agent/1.0"
    assert subscription.source_url == "https://news.example.org/ab"
