"""Password (and code) guessing at /admin/login is throttled, without letting anyone lock
editors out.

Every attempt is counted before its password is checked: per account from one client
network, and per network across accounts. A network that has not failed still signs in.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import update

from newsletter import create_app
from newsletter.db import database
from newsletter.models import Editor
from newsletter.web.limits import wait_in_words
from tests.admin_steps import EDITOR
from tests.admin_steps import PASSWORD
from tests.admin_steps import create_editor
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.conftest import free_port
from tests.test_admin_sessions import is_signed_in
from tests.test_admin_sessions import sign_out
from tests.two_factor_steps import code
from tests.two_factor_steps import enrol
from tests.two_factor_steps import post_code
from tests.two_factor_steps import sign_in_with_code

WRONG_PASSWORD = "not the right password"
ACCOUNT_LIMIT = 3
NETWORK_LIMIT = 5
CODE_LIMIT = 4
PARALLEL = 24


@pytest.fixture
def limit_storage(request) -> str:
    """Where the app counts: memory, or (parametrized "redis-down") a Redis nobody runs."""
    if getattr(request, "param", None) == "redis-down":
        return f"redis://127.0.0.1:{free_port()}/0"
    return "memory://"


@pytest.fixture
def settings(settings: dict, limit_storage: str) -> dict:
    """Three sign-ins per account from one network, five per network, then a pause."""
    return settings | {
        "LOGIN_RATE_LIMIT": f"{ACCOUNT_LIMIT} per 15 minutes",
        "LOGIN_NETWORK_RATE_LIMIT": f"{NETWORK_LIMIT} per 15 minutes",
        "LOGIN_CODE_RATE_LIMIT": f"{CODE_LIMIT} per hour",
        "RATELIMIT_STORAGE_URI": limit_storage,
    }


def attempt(app, email: str, password: str, ip: str):
    """One sign-in from a fresh browser at this address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client, sign_in(client, email=email, password=password)


def answer(app, email: str, password: str, ip: str) -> int:
    """The status of one sign-in from a fresh browser at this address."""
    return attempt(app, email, password, ip)[1].status_code


def test_failures_on_an_account_block_it_only_from_that_network(app, runner):
    """Anyone may guess; nobody can lock an editor out from the networks that did not."""
    assert create_editor(runner).exit_code == 0
    for email in ["ed@example.com", "ED@example.com", "Ed@Example.com"]:
        # Under the limit: a normal failure.
        assert answer(app, email, WRONG_PASSWORD, "198.51.100.1") == 401

    client, response = attempt(app, EDITOR, PASSWORD, "198.51.100.1")
    assert response.status_code == 429  # the right password too: it is not checked
    assert client.get("/admin/").status_code == 302

    client, response = attempt(app, EDITOR, PASSWORD, "198.51.100.2")
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_throttled_sign_in_keeps_the_address_and_says_how_long_to_wait(app, runner):
    """The 429 is the sign-in form again, with the address as typed and the wait in words."""
    for _ in range(ACCOUNT_LIMIT):
        assert answer(app, EDITOR, WRONG_PASSWORD, "198.51.100.9") == 401
    _, response = attempt(app, EDITOR, WRONG_PASSWORD, "198.51.100.9")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    assert "Too many sign-in attempts. Try again in 15 minutes." in response.text
    assert f'value="{EDITOR}"' in response.text
    assert page_csrf_token(response.text)  # the form, ready to try again


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "1 second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (300, "5 minutes"),
        (3600, "1 hour"),
        (5400, "2 hours"),
    ],
)
def test_waits_are_said_in_words_rounded_up(seconds, words):
    assert wait_in_words(seconds) == words


def test_failures_from_one_network_block_it_across_accounts(app, runner):
    assert create_editor(runner).exit_code == 0
    for name in "abcde":
        assert answer(app, f"{name}@example.com", WRONG_PASSWORD, "203.0.113.9") == 401

    client, response = attempt(app, EDITOR, PASSWORD, "203.0.113.9")
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302

    assert answer(app, EDITOR, PASSWORD, "203.0.113.10") == 303


def test_ipv6_failures_count_per_64_network(app, runner):
    assert create_editor(runner).exit_code == 0
    for host in "12345":
        assert answer(app, f"x{host}@example.com", WRONG_PASSWORD, f"2001:db8:1:1::{host}") == 401

    assert answer(app, EDITOR, PASSWORD, "2001:db8:1:1::ffff") == 429
    assert answer(app, EDITOR, PASSWORD, "2001:db8:1:2::1") == 303


def test_ipv4_clients_of_a_dual_stack_server_each_have_their_own_budget(app, runner):
    """A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d: each is its own network."""
    assert create_editor(runner).exit_code == 0
    for host in range(1, 20):
        assert answer(app, EDITOR, WRONG_PASSWORD, f"::ffff:192.0.2.{host}") == 401, host

    assert answer(app, EDITOR, PASSWORD, "::ffff:192.0.2.100") == 303
    # The mapped form and the plain form are the same client.
    for _ in range(ACCOUNT_LIMIT - 1):
        assert answer(app, EDITOR, WRONG_PASSWORD, "192.0.2.1") == 401
    assert answer(app, EDITOR, PASSWORD, "::ffff:192.0.2.1") == 429


def test_a_successful_sign_in_forgets_the_accounts_failures(app, runner):
    """An editor who mistyped twice and then got in starts afresh, on their network only."""
    assert create_editor(runner).exit_code == 0
    for _ in range(ACCOUNT_LIMIT - 1):
        assert answer(app, EDITOR, WRONG_PASSWORD, "198.51.100.7") == 401
    assert answer(app, EDITOR, PASSWORD, "198.51.100.7") == 303
    assert answer(app, EDITOR, WRONG_PASSWORD, "198.51.100.7") == 401
    assert answer(app, EDITOR, PASSWORD, "198.51.100.7") == 303
    # The network's own budget is not reset by a success: 5 attempts are spent.
    assert answer(app, EDITOR, PASSWORD, "198.51.100.7") == 429


def guess_all_at_once(apps: list, ip: str) -> Counter:
    """PARALLEL wrong passwords for the editor, sent together, spread over ``apps``."""
    browsers = []
    for number in range(PARALLEL):
        client = apps[number % len(apps)].test_client()
        client.environ_base["REMOTE_ADDR"] = ip
        browsers.append((client, page_csrf_token(client.get("/admin/login").text)))
    start = Barrier(PARALLEL, timeout=60)  # a broken run fails instead of hanging

    def guess(browser) -> int:
        client, token = browser
        data = {"email": EDITOR, "password": WRONG_PASSWORD, "csrf_token": token}
        start.wait()
        return client.post("/admin/login", data=data).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        return Counter(pool.map(guess, browsers))


def test_parallel_guesses_check_no_more_passwords_than_the_limit(app, runner):
    """Guesses sent all at once are counted before any password is checked."""
    assert create_editor(runner).exit_code == 0
    answers = guess_all_at_once([app], "198.51.100.9")
    # 401 means the password was checked; 429 means it was refused unchecked.
    assert answers == {401: ACCOUNT_LIMIT, 429: PARALLEL - ACCOUNT_LIMIT}


def test_web_processes_share_sign_in_counts_through_redis(settings, redis_url, redis_prefix):
    shared = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": redis_prefix}
    apps = [create_app(settings | shared), create_app(settings | shared)]
    try:
        assert create_editor(apps[0].test_cli_runner()).exit_code == 0
        answers = guess_all_at_once(apps, "198.51.100.9")
        assert answers == {401: ACCOUNT_LIMIT, 429: PARALLEL - ACCOUNT_LIMIT}
        assert answer(apps[1], EDITOR, PASSWORD, "198.51.100.10") == 303
    finally:
        for app in apps:
            database(app).engine.dispose()


@pytest.mark.parametrize("limit_storage", ["redis-down"], indirect=True)
def test_sign_in_stays_throttled_when_the_limit_storage_is_down(app, runner):
    """Redis unreachable: this process counts sign-ins in memory, never lets guesses run free."""
    assert create_editor(runner).exit_code == 0
    for _ in range(ACCOUNT_LIMIT):
        assert answer(app, EDITOR, WRONG_PASSWORD, "198.51.100.20") == 401
    assert answer(app, EDITOR, PASSWORD, "198.51.100.20") == 429
    assert answer(app, EDITOR, PASSWORD, "198.51.100.21") == 303


# --- The second step (a code from an app, or a recovery code) is throttled alike -----------


def enrolled_editor(app, runner) -> str:
    """An editor who enrolled in two-factor sign-in and signed out; their secret."""
    client = signed_in_client(app, runner)
    secret, _ = enrol(client)
    assert sign_out(client).status_code == 303
    return secret


def forget_last_step(app) -> None:
    """As if the last code accepted were long ago: the current code may serve again."""
    with app.app_context(), database(app).transaction() as session:
        session.execute(update(Editor).values(totp_last_step=None))


def browser_at(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_wrong_codes_are_throttled_and_a_right_password_does_not_renew_the_budget(app, runner):
    secret = enrolled_editor(app, runner)
    client = browser_at(app, "198.51.100.30")
    assert sign_in(client).status_code == 303  # attempt 1: the password
    for _ in range(ACCOUNT_LIMIT - 1):  # attempts 2..4: wrong codes
        assert post_code(client, "/admin/login/code", "000001").status_code == 401
    throttled = post_code(client, "/admin/login/code", code(secret, 1))
    assert throttled.status_code == 429  # the right code too: it is not checked
    assert "Too many sign-in attempts. Try again in 15 minutes." in throttled.text
    assert throttled.headers["Retry-After"] == "900"
    assert not is_signed_in(client)
    # The password again does not start a fresh budget for codes.
    assert sign_in(browser_at(app, "198.51.100.30")).status_code == 429

    # From another network the editor signs in.
    other = browser_at(app, "198.51.100.31")
    assert sign_in_with_code(other, EDITOR, PASSWORD, code(secret, 1)).status_code == 303


def test_codes_from_many_networks_share_the_accounts_code_budget(app, runner):
    """Someone holding the password cannot spread guesses at the code over networks."""
    secret = enrolled_editor(app, runner)
    for host in range(CODE_LIMIT - 1):  # the code that finished the enrolment was one
        client = browser_at(app, f"203.0.113.{host + 1}")
        assert sign_in_with_code(client, EDITOR, PASSWORD, "000001").status_code == 401
    client = browser_at(app, "203.0.113.99")
    assert sign_in_with_code(client, EDITOR, PASSWORD, code(secret, 1)).status_code == 429


def test_a_right_code_forgets_the_accounts_failures_on_that_network(app, runner):
    secret = enrolled_editor(app, runner)
    client = browser_at(app, "198.51.100.40")
    assert sign_in(client).status_code == 303
    assert post_code(client, "/admin/login/code", "000001").status_code == 401
    assert post_code(client, "/admin/login/code", code(secret, 1)).status_code == 303
    forget_last_step(app)  # so that the same code may serve again below
    # Three attempts were spent; had they not been forgotten, two more would be refused.
    again = browser_at(app, "198.51.100.40")
    assert sign_in(again).status_code == 303
    assert post_code(again, "/admin/login/code", code(secret, 1)).status_code == 303
