"""Every surface of the signup form says the same words, all taken from ``form_words``.

A real ``newsletter serve`` and headless Chromium: our page, the iframe and ``embed.js``
on a publisher's page are read as a reader sees them, the JSON API as a script does, and
each is compared with :func:`newsletter.web.form_words.current`. A word changed there
changes on every surface; a copy kept anywhere else (a template, ``embed.js``, a Python
string) is found by the second test even while it still says the same.
"""

import ast
import json
import re
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest
from playwright.sync_api import expect

from newsletter.web import form_words
from tests.browser import ROOT
from tests.browser import Service
from tests.browser import Site
from tests.conftest import free_port

SLUG = "explaining-ukraine"
HOME = ROOT / "newsletter" / "web" / "form_words.py"
SEARCHED = ("newsletter", "templates", "static")
MASKED = "r***@gmail.com"
WEBMAIL = "Gmail"
ARTICLE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>An article</title></head>
<body>
  <iframe data-newsletter-frame title="Newsletter signup"
          src="{base}/newsletters/{slug}/embed" style="height:500px"></iframe>
  <div data-newsletter="{slug}"></div>
  <script src="{base}/embed.js" async></script>
</body>
</html>
"""
# A label's or legend's words without the star beside them.
OWN_TEXT = """node => Array.from(node.childNodes)
    .filter(child => child.nodeType === Node.TEXT_NODE)
    .map(child => child.textContent).join("").replace(/\\s+/g, " ").trim()"""


@pytest.fixture(scope="module")
def article_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp_server, article_port: int):
    """A served instance whose newsletter the publisher's site may embed."""
    service = Service(tmp_path_factory.mktemp("words") / "instance", free_port(), smtp_server.url)
    service.cli("db", "upgrade")
    service.cli(
        "newsletters", "create", "--slug", SLUG, "--name", "Explaining Ukraine",
        "--allow-origin", f"http://localhost:{article_port}",
    )  # fmt: skip
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def article(service: Service, article_port: int):
    """The publisher's article page, with the form as an iframe and through embed.js."""
    site = Site(article_port, ARTICLE.format(base=service.base, slug=SLUG))
    site.start()
    yield site
    site.stop()


def address() -> str:
    """A new address each time; each masks alike (``MASKED``) and has a webmail."""
    return f"reader-{uuid.uuid4().hex[:12]}@gmail.com"


def submit(form, email: str) -> None:
    form.locator("input[name=email]").fill(email)
    form.locator(".signup__button").click()


def shown(form) -> dict[str, str]:
    """The words a reader meets in one form (a page, a frame or the script's div):
    before, after an invalid address, and after a valid one (the address and the
    webmail's name put back as the placeholders they fill)."""
    label = form.locator(".signup__label")
    expect(label).to_be_visible()
    words = {
        "legend": form.locator(".signup__legend").evaluate(OWN_TEXT),
        "label": label.evaluate(OWN_TEXT),
        "button": form.locator(".signup__button").inner_text(),
    }
    submit(form, "not-an-address")
    error = form.locator(".signup__error")
    expect(error).not_to_be_empty()
    words["invalid_email"] = error.inner_text()
    submit(form, address())
    done = form.locator("[role=status]")
    expect(done).to_be_visible()
    words["thanks_title"] = done.locator("h1, h2").inner_text()
    words["sent_to"] = done.locator("p").first.inner_text().replace(MASKED, "{address}")
    words["open_webmail"] = done.get_by_role("link").inner_text().replace(WEBMAIL, "{name}")
    return words


def call_api(service: Service, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The API's status and JSON answer, as a script on a server gets them."""
    request = urllib.request.Request(
        f"{service.base}/api/v1/newsletters/{SLUG}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def answered(service: Service) -> dict[str, str]:
    """The words in the API's answers to a valid and to an invalid signup."""
    accepted = call_api(service, "/subscriptions", {"email": address()})
    refused = call_api(service, "/subscriptions", {"email": "not-an-address"})
    assert (accepted[0], refused[0]) == (202, 422)
    return {"thanks": accepted[1]["message"], "invalid_email": refused[1]["errors"]["email"][0]}


def test_page_iframe_script_and_api_say_the_same_words(page, service: Service, article: Site):
    page.goto(f"{service.base}/newsletters/{SLUG}")
    on_our_page = shown(page)
    page.goto(article.article)
    in_the_iframe = shown(page.frame_locator("iframe[data-newsletter-frame]"))
    from_the_script = shown(page.locator(f'[data-newsletter="{SLUG}"]'))
    status, newsletter = call_api(service, "")
    assert status == 200

    words = asdict(form_words.current())
    surfaces = {
        "page": on_our_page,
        "iframe": in_the_iframe,
        "script": from_the_script,
        "api: the newsletter": newsletter["form"],
        "api: signup answers": answered(service),
    }
    expected = {name: {key: words[key] for key in said} for name, said in surfaces.items()}
    assert surfaces == expected
    assert set(newsletter["form"]) == set(words)


def _strings(path: Path) -> list[str]:
    """What a file could show a reader: a Python module's string literals, docstrings
    left out; any other file's whole text."""
    text = path.read_text()
    if path.suffix != ".py":
        return [text]
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _standing_alone(word: str) -> re.Pattern:
    """The word as a whole text ("Subscribe", not "Subscribe again" or "Subscribers")."""
    return re.compile(rf"(?<!\w)(?<!\w ){re.escape(word)}(?! ?\w)")


def test_no_word_is_written_anywhere_else():
    files = [
        path
        for folder in SEARCHED
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in (".py", ".html", ".js", ".css", ".txt")
    ]
    assert HOME in files
    strings = {path: _strings(path) for path in files if path != HOME}
    copies = [
        (str(path.relative_to(ROOT)), word)
        for word in asdict(form_words.current()).values()
        for path, found in strings.items()
        if any(_standing_alone(word).search(string) for string in found)
    ]
    assert copies == []
