"""Rate limits on signups: per client network and per address, on every surface, shared."""

import re

import pytest

from newsletter import create_app
from newsletter import newsletters
from newsletter.db import database
from newsletter.models import Subscription
from newsletter.web.limits import wait_in_words
from tests.admin_steps import create_editor
from tests.admin_steps import sign_in
from tests.conftest import free_port
from tests.reader import count
from tests.reader import csrf_token
from tests.reader import deliver
from tests.reader import subscriptions

SLUG = "explaining-ukraine"
OTHER_SLUG = "weekly-digest"
ALLOWED = "https://news.example.com"
LIMIT = 3
SIGNUP_LIMIT = f"{LIMIT} per minute"
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
# The wait in words, as Retry-After says it (the page, the frame and the JSON say the same).
FRIENDLY = "You have tried this too often. Please try again in {wait}."
# The form's field, with the address as it was typed.
TYPED = re.compile(r'name="email"[^>]*value="[^"@]+@[^"]+"')


@pytest.fixture
def make_app(settings):
    """Build an app (seeded like ``newsletter serve``) with these settings changed."""
    built = []

    def make(**overrides):
        app = create_app(settings | {"SIGNUP_RATE_LIMIT": SIGNUP_LIMIT} | overrides)
        with app.app_context(), database(app).transaction() as session:
            newsletters.seed_default(session)
        built.append(app)
        return app

    yield make
    for app in built:
        database(app).engine.dispose()


def worked(app):
    """The app once ``newsletter worker --once`` has applied the signups it recorded."""
    deliver(app.test_cli_runner())
    return app


def add_newsletter(app, slug: str = OTHER_SLUG) -> None:
    result = app.test_cli_runner().invoke(
        args=["newsletters", "create", "--slug", slug, "--name", "Weekly digest"]
    )
    assert result.exit_code == 0, result.output


def allow_origin(app, origin: str = ALLOWED) -> None:
    result = app.test_cli_runner().invoke(
        args=["newsletters", "update", SLUG, "--allow-origin", origin]
    )
    assert result.exit_code == 0, result.output


def via_page(client, email: str, ip: str = "127.0.0.1", slug: str = SLUG, **headers):
    """The form on our own page: open it, then submit it."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get(f"/newsletters/{slug}", environ_base=environ, headers=headers)
    assert page.status_code == 200
    return client.post(
        f"/newsletters/{slug}/subscribe",
        data={"email": email, "csrf_token": csrf_token(page.text)},
        environ_base=environ,
        headers=headers,
    )


def via_frame(client, email: str, ip: str = "127.0.0.1", slug: str = SLUG, **headers):
    """The iframe form: open it, then submit it from inside the frame."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get(f"/newsletters/{slug}/embed", environ_base=environ, headers=headers)
    assert page.status_code == 200
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page.text)
    assert token
    return client.post(
        f"/newsletters/{slug}/embed",
        data={"email": email, "form_token": token.group(1)},
        environ_base=environ,
        headers={"Sec-Fetch-Site": "same-origin"} | headers,
    )


def via_api(client, email: str, ip: str = "127.0.0.1", slug: str = SLUG, **headers):
    return client.post(
        f"/api/v1/newsletters/{slug}/subscriptions",
        json={"email": email},
        environ_base={"REMOTE_ADDR": ip},
        headers=headers,
    )


SURFACES = {"page": (via_page, 303), "frame": (via_frame, 303), "api": (via_api, 202)}


def assert_retry_after(response) -> None:
    assert int(response.headers["Retry-After"]) > 0


def friendly(response) -> str:
    """What a refused reader is told: how long to wait, from the answer's Retry-After."""
    return FRIENDLY.format(wait=wait_in_words(int(response.headers["Retry-After"])))


def assert_friendly_page(response) -> None:
    """429 as the form again, for people: the address kept, the wait in words under it,
    the title saying there is an error."""
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    match = TITLE.search(response.text)
    assert match
    assert match.group(1).strip().startswith("Error: ")
    assert_retry_after(response)
    assert friendly(response) in response.text
    assert TYPED.search(response.text)


def assert_json_429(response) -> None:
    """429 as JSON, for scripts and embed.js."""
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    assert_retry_after(response)
    assert response.get_json() == {"error": "too_many_requests", "message": friendly(response)}


def test_page_form_past_the_limit_gets_a_friendly_page(make_app):
    app = make_app()
    client = app.test_client()
    for number in range(LIMIT):
        assert via_page(client, f"reader{number}@example.com").status_code == 303
    response = via_page(client, "one-too-many@example.com")
    assert_friendly_page(response)
    assert count(worked(app), Subscription) == LIMIT


def test_api_past_the_limit_gets_json_the_script_can_read(make_app):
    app = make_app()
    allow_origin(app)
    client = app.test_client()
    for number in range(LIMIT):
        response = via_api(client, f"reader{number}@example.com", Origin=ALLOWED)
        assert response.status_code == 202
    response = via_api(client, "one-too-many@example.com", Origin=ALLOWED)
    assert_json_429(response)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert count(worked(app), Subscription) == LIMIT


@pytest.mark.parametrize("last", list(SURFACES))
def test_one_budget_for_page_frame_and_api(make_app, last):
    """A client cannot get three times the limit by using each form once."""
    app = make_app()
    client = app.test_client()
    for name, (submit, success) in SURFACES.items():
        assert submit(client, f"{name}@example.com").status_code == success
    submit, _success = SURFACES[last]
    response = submit(client, "one-too-many@example.com")
    if last == "api":
        assert_json_429(response)
    else:
        assert_friendly_page(response)
    assert count(worked(app), Subscription) == LIMIT


@pytest.mark.parametrize(
    ("first", "same_network", "other_network"),
    [
        pytest.param("192.0.2.10", "192.0.2.10", "192.0.2.11", id="ipv4"),
        pytest.param(
            "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:3::1", id="ipv6-64"
        ),
    ],
)
def test_each_client_network_has_its_own_budget(make_app, first, same_network, other_network):
    """An IPv4 address, or an IPv6 /64 (which one household holds whole), is one client."""
    app = make_app()
    client = app.test_client()
    for number in range(LIMIT):
        assert via_api(client, f"reader{number}@example.com", ip=first).status_code == 202
    assert_json_429(via_api(client, "again@example.com", ip=same_network))
    assert via_api(client, "neighbour@example.com", ip=other_network).status_code == 202
    stored = {item.email: item.signup_ip for item in subscriptions(worked(app))}
    assert stored["reader0@example.com"] == first
    assert stored["neighbour@example.com"] == other_network
    assert "again@example.com" not in stored


def test_behind_one_proxy_the_forwarded_address_is_the_client(make_app):
    app = make_app(PROXY_HOPS=1)
    client = app.test_client()
    proxy = "10.0.0.1"
    for number in range(LIMIT):
        # A client may send its own X-Forwarded-For; the proxy appends the real address.
        forwarded = {"X-Forwarded-For": f"203.0.113.{number}, 198.51.100.7"}
        response = via_api(client, f"reader{number}@example.com", ip=proxy, **forwarded)
        assert response.status_code == 202
    assert_json_429(
        via_api(client, "again@example.com", ip=proxy, **{"X-Forwarded-For": "198.51.100.7"})
    )
    other = via_api(client, "other@example.com", ip=proxy, **{"X-Forwarded-For": "198.51.100.8"})
    assert other.status_code == 202
    stored = {item.email: item.signup_ip for item in subscriptions(worked(app))}
    assert stored == {
        "reader0@example.com": "198.51.100.7",
        "reader1@example.com": "198.51.100.7",
        "reader2@example.com": "198.51.100.7",
        "other@example.com": "198.51.100.8",
    }


def test_without_proxies_the_forwarded_header_is_ignored(make_app):
    """Anyone can send X-Forwarded-For; with PROXY_HOPS=0 it changes neither key nor evidence."""
    app = make_app(PROXY_HOPS=0)
    client = app.test_client()
    for number in range(LIMIT):
        forwarded = {"X-Forwarded-For": f"203.0.113.{number}"}
        assert via_api(client, f"reader{number}@example.com", **forwarded).status_code == 202
    assert_json_429(via_api(client, "again@example.com", **{"X-Forwarded-For": "203.0.113.99"}))
    assert {item.signup_ip for item in subscriptions(worked(app))} == {"127.0.0.1"}


def test_one_address_is_limited_across_newsletters_and_networks(make_app):
    """List bombing: one victim's address walked through every newsletter, from many IPs."""
    app = make_app(ADDRESS_RATE_LIMIT="2 per hour")
    add_newsletter(app)
    client = app.test_client()
    assert via_api(client, "victim@example.com", ip="192.0.2.1").status_code == 202
    assert via_api(client, "victim@example.com", ip="192.0.2.2", slug=OTHER_SLUG).status_code == 202
    # However the address is written, it is the same address.
    refused = via_api(client, "VICTIM@example.com", ip="192.0.2.3")
    assert_json_429(refused)
    assert refused.headers["Retry-After"] == "3600"  # the address's window, not the IP's
    assert_friendly_page(via_page(client, "victim@example.com", ip="192.0.2.4", slug=OTHER_SLUG))
    # Other readers, from the same networks, are not affected.
    assert via_api(client, "reader@example.com", ip="192.0.2.3").status_code == 202
    emails = sorted(item.email for item in subscriptions(worked(app)))
    assert emails == ["reader@example.com", "victim@example.com", "victim@example.com"]


@pytest.mark.parametrize(
    ("address", "variants"),
    [
        pytest.param(
            "victim@example.com",
            ["victim+1@example.com", "Victim+news+2@example.com", "victim+@example.com"],
            id="plus-tags",
        ),
        pytest.param(
            "victim@gmail.com",
            ["v.i.c.t.i.m@gmail.com", "victim+1@googlemail.com", "Vic.Tim+x@GoogleMail.com"],
            id="gmail-dots-and-googlemail",
        ),
    ],
)
def test_tagged_and_dotted_variants_share_the_address_budget(make_app, address, variants):
    """One inbox, however its address is dressed up, gets no more than the address limit."""
    app = make_app(ADDRESS_RATE_LIMIT="3 per hour")
    client = app.test_client()
    assert via_api(client, address, ip="192.0.2.1").status_code == 202
    assert via_api(client, variants[0], ip="192.0.2.2").status_code == 202
    assert via_page(client, variants[1], ip="192.0.2.3").status_code == 303
    assert_json_429(via_api(client, variants[2], ip="192.0.2.4"))
    assert_friendly_page(via_page(client, address, ip="192.0.2.5"))
    # Addresses are kept as typed; only the count is shared.
    stored = sorted(item.email for item in subscriptions(worked(app)))
    assert stored == sorted([address, variants[0], variants[1]])


def test_dots_are_the_same_mailbox_only_at_gmail(make_app):
    app = make_app(ADDRESS_RATE_LIMIT="1 per hour")
    client = app.test_client()
    assert via_api(client, "victim@example.com", ip="192.0.2.1").status_code == 202
    assert via_api(client, "vic.tim@example.com", ip="192.0.2.2").status_code == 202
    assert via_api(client, "victim@example.org", ip="192.0.2.3").status_code == 202


def test_ipv4_clients_of_a_dual_stack_server_each_have_their_own_budget(make_app):
    """A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d: each is its own network."""
    app = make_app()
    client = app.test_client()
    for host in range(1, 20):
        response = via_api(client, f"reader{host}@example.com", ip=f"::ffff:192.0.2.{host}")
        assert response.status_code == 202, host
    # The mapped form and the plain form are the same client.
    for number in range(LIMIT - 1):
        assert via_api(client, f"again{number}@example.com", ip="192.0.2.1").status_code == 202
    assert_json_429(via_api(client, "one-too-many@example.com", ip="::ffff:192.0.2.1"))


def test_answers_within_the_limits_carry_no_rate_limit_headers(make_app):
    """Counting is our business: readers and scripts see limits only when they hit one."""
    client = make_app().test_client()
    response = via_api(client, "reader@example.com")
    assert response.status_code == 202
    assert not [name for name, _ in response.headers if "ratelimit" in name.lower()]
    assert "Retry-After" not in response.headers


def test_disabled_rate_limits_let_everything_through(make_app):
    app = make_app(
        RATELIMIT_ENABLED=False, SIGNUP_RATE_LIMIT="1 per minute", ADDRESS_RATE_LIMIT="1 per hour"
    )
    add_newsletter(app)
    client = app.test_client()
    for slug in (SLUG, OTHER_SLUG):
        for name, (submit, success) in SURFACES.items():
            response = submit(client, "reader@example.com", slug=slug)
            assert response.status_code == success, (slug, name)
        assert via_api(client, f"{slug}@example.com", slug=slug).status_code == 202
    assert count(worked(app), Subscription) == 4


def test_reading_and_preflights_are_never_counted(make_app):
    app = make_app()
    allow_origin(app)
    client = app.test_client()
    preflight = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    for _ in range(3 * LIMIT):
        assert client.get("/").status_code == 200
        assert client.get(f"/newsletters/{SLUG}").status_code == 200
        assert client.get(f"/newsletters/{SLUG}/embed").status_code == 200
        assert client.get(f"/api/v1/newsletters/{SLUG}").status_code == 200
        api = f"/api/v1/newsletters/{SLUG}/subscriptions"
        assert client.options(api, headers=preflight).status_code == 204
    for number in range(LIMIT):
        assert via_api(client, f"reader{number}@example.com").status_code == 202
    assert_json_429(via_api(client, "one-too-many@example.com"))


def test_limits_are_shared_by_two_web_processes_through_redis(make_app, redis_url, redis_prefix):
    shared = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": redis_prefix}
    first, second = make_app(**shared), make_app(**shared)
    first_client, second_client = first.test_client(), second.test_client()
    for number in range(LIMIT - 1):
        assert via_api(first_client, f"reader{number}@example.com").status_code == 202
    assert via_page(second_client, "last@example.com").status_code == 303
    assert_json_429(via_api(second_client, "over@example.com"))
    assert_friendly_page(via_page(first_client, "over@example.com"))
    assert count(worked(first), Subscription) == LIMIT


def test_address_limit_is_shared_through_redis(make_app, redis_url, redis_prefix):
    shared = {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
        "ADDRESS_RATE_LIMIT": "2 per hour",
    }
    first, second = make_app(**shared), make_app(**shared)
    add_newsletter(first)
    assert via_api(first.test_client(), "victim@example.com", ip="192.0.2.1").status_code == 202
    response = via_api(second.test_client(), "victim@example.com", ip="192.0.2.2", slug=OTHER_SLUG)
    assert response.status_code == 202
    assert_json_429(via_api(first.test_client(), "victim@example.com", ip="192.0.2.3"))


def test_editors_sign_in_when_the_limit_storage_is_down(make_app):
    """Redis unreachable: the sign-in throttle fails open too, and the editor gets in.

    Sign-in is the first to ask the storage (no request limit runs before it), so this is
    where the limiter's own fallback has not yet taken over.
    """
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    assert create_editor(app.test_cli_runner()).exit_code == 0
    assert sign_in(app.test_client()).status_code == 303


def test_signups_go_on_when_the_limit_storage_is_down(make_app):
    """Redis unreachable: readers still sign up; each process counts in memory meanwhile."""
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    assert via_page(client, "page@example.com").status_code == 303
    assert via_frame(client, "frame@example.com").status_code == 303
    assert via_api(client, "api@example.com").status_code == 202
    emails = sorted(item.email for item in subscriptions(worked(app)))
    assert emails == ["api@example.com", "frame@example.com", "page@example.com"]
    # The in-memory fallback (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) still caps a client.
    assert_json_429(via_api(client, "one-too-many@example.com"))
