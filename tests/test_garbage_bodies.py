"""Garbage on every route: never a 5xx, errors in the caller's format, nothing stored.

Routes come from the app's URL map, so a route added later is covered as soon as it
exists. Each URL gets every method, content type and body, from an anonymous visitor
(public routes) or a signed-in editor (``/admin``). Tokens in paths are signed by us for
subscriptions that do not exist, or plain garbage: a real confirm link may be confirmed
by any POST, garbage body or not, which is the link's job and not what is tested here.
"""

import itertools

import pytest
from werkzeug.routing import Rule

from newsletter import link_tokens
from newsletter.models import Newsletter
from newsletter.models import OutboxMessage
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent
from tests.admin_steps import page_csrf_token
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import count
from tests.reader import sign_up

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=x",
    None,
    "application/x-bogus; charset=no-such-charset",
)
BODIES = {
    "empty": b"",
    "open-brace": b"{",
    "json-string": b'"x"',
    "deep-array": b"[" * 30000 + b"]" * 30000,
    "deep-object": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "invalid-utf-8": b'{"email": "\xff\xfe@example.com"}&email=\xc3\x28@example.com',
    "nul": b"email=reader%00@example.com&csrf_token=\x00\x00&\x00=\x00",
    "2-mb": b"x" * (2 * 1024 * 1024),
    # Just under the 64 KiB limit, so that it is read and validated.
    "huge-field": b"email=" + b"a" * 60_000 + b"@example.com&name=" + b"b" * 4000,
}
GARBAGE_TOKEN = "not.a-token%00%FF"
# The methods whose bodies are read (by Flask-WTF, and by our views).
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SIGN_OUT = "/admin/logout"
STORED = (Newsletter, Subscription, SubscriptionEvent, OutboxMessage)


@pytest.fixture
def settings(settings):
    """Rate limits off: every request must reach the code that reads the body."""
    return settings | {"RATELIMIT_ENABLED": False}


def path_values(app, name: str) -> list[str]:
    """What to put in a path parameter: real values, valid-looking ones, and garbage."""
    secret = app.secret_key
    known = {
        "slug": [SLUG],
        "filename": ["embed.js"],
        # Not a real subscriber's: with a valid CSRF token, any POST would act on a real one.
        "public_id": ["A" * 22],
        "token": [
            link_tokens.make_confirm_token(secret, "no-such-subscription", 1),
            link_tokens.make_unsubscribe_token(secret, "no-such-subscription"),
            GARBAGE_TOKEN,
        ],
    }
    return known.get(name, [GARBAGE_TOKEN])


def urls(app, admin: bool) -> dict[str, set[str]]:
    """Every route's URL (once per combination of path values) and the methods it allows."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") != admin:
            continue
        names = sorted(rule.arguments)
        for values in itertools.product(*(path_values(app, name) for name in names)):
            url = fill(rule, dict(zip(names, values, strict=True)))
            found.setdefault(url, set()).update(rule.methods)
    assert found
    return found


def requests(paths: dict[str, set[str]]):
    """(path, method, content type, body name, body) for every combination worth sending.

    Where a body may be read (a method the route takes that carries one), every content
    type meets every body. Elsewhere nothing reads the body, so each body is sent once,
    with the content types taking turns: still every body and every type, for a ninth of
    the requests (the module runs on both databases and must stay quick).
    """
    for path, allowed in sorted(paths.items()):
        for method in METHODS:
            if method in allowed and method in BODY_METHODS:
                pairs = itertools.product(CONTENT_TYPES, BODIES.items())
            else:
                pairs = zip(itertools.cycle(CONTENT_TYPES), BODIES.items())
            for content_type, (name, body) in pairs:
                yield path, method, content_type, name, body


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with its parameters put in as they are (garbage stays garbage)."""
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
    return path


def stored(app) -> dict[str, int]:
    return {model.__name__: count(app, model) for model in STORED}


def throw_garbage(client, paths: dict[str, set[str]], csrf_token: str | None = None) -> list[str]:
    """Send every combination to every path; return what went wrong, to report all at once.

    With ``csrf_token``, forms get past the CSRF check to their fields (as from a script
    sending the ``X-CSRFToken`` header), except signing out, which any body would do.
    """
    problems = []
    for number, (path, method, content_type, name, body) in enumerate(requests(paths)):
        # Every other request comes from a client that prefers JSON.
        accept = "application/json" if number % 2 else "text/html"
        headers = {"Accept": accept}
        if csrf_token is not None and path != SIGN_OUT:
            headers["X-CSRFToken"] = csrf_token
        if content_type is not None:
            headers["Content-Type"] = content_type
        what = f"{method} {path[:80]} {content_type} {name} (Accept: {accept})"
        try:
            with client.open(path, method=method, data=body, headers=headers) as response:
                found = check(response, path, method, accept)
        except Exception as error:  # noqa: BLE001 (escaped every error handler: a 500)
            found = [f"raised {error!r:.200}"]
        problems.extend(f"{what}: {problem}" for problem in found)
    return problems


def check(response, path: str, method: str, accept: str) -> list[str]:
    """What is wrong with one answer: a 5xx, a traceback, or an error in the wrong format."""
    status = response.status_code
    if status >= 500:
        return [f"{status}"]
    if b"Traceback" in response.data:
        return ["a traceback in the answer"]
    if status < 400 or method == "HEAD":
        return []
    # The API and the providers' webhooks answer machines: JSON whatever they accept.
    api = path.startswith(("/api/", "/webhooks/"))
    if not api and status in (400, 422) and shows_a_form(response):
        return []  # a form shown again with its field errors: the page itself, for people
    wants_json = api or accept == "application/json"
    expected = "application/json" if wants_json else "text/html"
    if response.mimetype != expected:
        return [f"{status} as {response.mimetype}, not {expected}"]
    return []


def shows_a_form(response) -> bool:
    """Our error page has no form; a page shown again for correction has one."""
    return response.mimetype == "text/html" and b"<form" in response.data


def test_public_routes(app, client):
    assert sign_up(client, "reader@example.com").status_code == 303
    before = stored(app)
    problems = throw_garbage(app.test_client(), urls(app, admin=False))
    assert not problems, "\n".join(problems[:40])
    assert stored(app) == before


def test_admin_routes_with_a_signed_in_editor(app, client, runner):
    assert sign_up(client, "reader@example.com").status_code == 303
    editor = signed_in_client(app, runner)
    csrf_token = page_csrf_token(editor.get("/admin/").text)
    before = stored(app)
    problems = throw_garbage(editor, urls(app, admin=True), csrf_token)
    assert not problems, "\n".join(problems[:40])
    assert stored(app) == before
