"""Mutation check: does each promise have a test that fails when the promise is broken?

``make mutants`` (or ``python -m tests.mutants [NAME…]``) applies each mutant below, one at
a time, to a scratch copy of the repository: a one-line deliberate bug standing for one
promise of SECURITY.md or the README. It runs the named tests there, on SQLite, and
reports the mutant CAUGHT (a test failed; the failing tests are listed) or SURVIVED (every
test passed: the promise is not guarded). A mutant whose original snippet is no longer
found exactly once is reported STALE: the code moved, and the mutant must be re-anchored.

A few promises only exist on PostgreSQL (concurrent workers, the planner): those mutants
run their tests' PostgreSQL cases, on the server ``NEWSLETTER_TEST_DATABASE_URL`` names
(each test process makes and drops its own database there). Without that variable they
are SKIPPED, which fails the run only when ``CI=true``, as a missing service does in the
tests. The exit status is non-zero if any mutant survived, is stale, or could not be run.

First the named tests run once on the unchanged copy (the baseline): a mutant is only
caught if the same tests pass without it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Larger than any of these test runs needs; a hang counts as caught (the tests never pass).
RUN_TIMEOUT_SECONDS = 600
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "instance", "__pycache__", "*.egg-info", ".*_cache"
)
FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
POSTGRES_URL_VARIABLE = "NEWSLETTER_TEST_DATABASE_URL"
IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: ``original`` (found exactly once in ``path``) becomes ``replacement``."""

    name: str
    promise: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]  # files or test ids: the tests that stand for the promise
    backend: str = SQLITE  # the database the tests run on (POSTGRESQL: see the docstring)


MUTANTS = [
    Mutant(
        "get-confirms",
        "GET on a confirm link only shows a page (mail scanners)",
        "newsletter/web/links.py",
        "    link = confirmations.inspect(db.session(), token)\n",
        "    link = confirmations.confirm(db.session(), token, _clicked())\n"
        "    db.session().commit()\n",
        (
            "tests/test_links.py::test_fetching_the_confirm_link_confirms_nobody",
            "tests/test_links.py::test_confirm_page_is_a_form_that_posts_without_script",
        ),
    ),
    Mutant(
        "resend-throttle-removed",
        "a pending address gets its confirmation at most once per interval (list bombing)",
        "newsletter/subscriptions.py",
        "    return last is None or utcnow() - last >= interval",
        "    return True",
        (
            "tests/test_mail.py::test_resend_throttle_sends_one_confirmation_per_interval",
            "tests/test_concurrency.py::test_simultaneous_resubmissions_of_a_pending_address_send_one_reminder",
        ),
    ),
    Mutant(
        "honeypot-stores",
        "a filled honeypot gets the success answer and stores nothing (bots)",
        "newsletter/web/signups.py",
        "    if form.filled_by_bot():",
        "    if form.filled_by_bot() and not form.validate():",
        (
            "tests/test_embed.py::test_honeypot_in_the_frame_gets_success_and_stores_nothing",
            "tests/test_embed.py::test_honeypot_on_our_own_page_gets_success_and_stores_nothing",
            "tests/test_api.py::test_honeypot_gets_the_success_answer_and_nothing_happens",
        ),
    ),
    Mutant(
        "enumeration-confirmed-differs",
        "the answer is the same for new, pending, confirmed addresses (enumeration)",
        "newsletter/web/signups.py",
        "    signup_requests.record(db.session(), chosen, address, evidence)",
        '    models = __import__("newsletter.models").models\n'
        "    if db.session().scalar(\n"
        '        __import__("sqlalchemy").select(models.Subscription.status).where(\n'
        "            models.Subscription.reader.has(email_key=address.lower())\n"
        "        )\n"
        "    ) is models.SubscriptionStatus.CONFIRMED:\n"
        '        raise __import__("werkzeug.exceptions").exceptions.Conflict()\n'
        "    signup_requests.record(db.session(), chosen, address, evidence)",
        (
            "tests/test_signup.py::test_answer_does_not_reveal_whether_an_address_is_subscribed",
            "tests/test_api.py::test_answer_does_not_reveal_the_address_state",
        ),
    ),
    Mutant(
        "csrf-skipped",
        "our own signup page needs its session CSRF token (CSRF)",
        "newsletter/web/__init__.py",
        "    for cookieless in (embed.bp, api.bp, links.bp, manage.bp, health.bp, "
        "bounce_webhooks.bp):",
        "    for cookieless in (embed.bp, api.bp, links.bp, manage.bp, health.bp, "
        "bounce_webhooks.bp, pages.bp):",
        ("tests/test_signup.py::test_form_without_a_valid_csrf_token_is_refused",),
    ),
    Mutant(
        "origin-any-newsletter",
        "each newsletter's allowed origins are its own (CORS, other sites using our form)",
        "newsletter/web/origins.py",
        "    return origin == own_origin() or origin in newsletter.allowed_origins",
        "    return origin == own_origin() or any(origin in other.allowed_origins for other in "
        '__import__("newsletter.db").db.session().scalars(__import__("sqlalchemy")'
        ".select(Newsletter)))",
        (
            "tests/test_api.py::test_post_from_another_origin_is_403_and_stores_nothing",
            "tests/test_api.py::test_preflight_from_another_origin_is_refused",
            "tests/test_api.py::test_an_origin_allowed_by_one_newsletter_may_not_use_another",
        ),
    ),
    Mutant(
        "frame-ancestors-star",
        "only a newsletter's allowed origins may frame its form (clickjacking)",
        "newsletter/web/embed.py",
        "        security.allow_framing_by(newsletter.allowed_origins)",
        '        security.allow_framing_by(["*"])',
        ("tests/test_embed.py::test_frame_may_be_embedded_by_the_allowed_origins_only",),
    ),
    Mutant(
        "frame-ancestors-any-newsletter",
        "a newsletter's frame lists its own allowed origins, not another's",
        "newsletter/web/embed.py",
        "        security.allow_framing_by(newsletter.allowed_origins)",
        '        security.allow_framing_by([origin for other in __import__("newsletter.db").db'
        '.session().scalars(__import__("sqlalchemy").select(Newsletter)) for origin in '
        "other.allowed_origins])",
        (
            "tests/test_embed.py::test_frame_may_be_embedded_by_the_allowed_origins_only",
            "tests/test_embed.py::test_an_origin_allowed_by_one_newsletter_may_not_frame_another",
        ),
    ),
    Mutant(
        "csp-loosened",
        "a Content-Security-Policy without unsafe-inline (injected script)",
        "newsletter/web/security.py",
        '    "default-src": "\'self\'",',
        "    \"default-src\": \"'self' 'unsafe-inline' 'unsafe-eval' *\",",
        (
            "tests/test_errors.py::test_security_headers",
            "tests/test_errors.py::test_signed_in_admin_pages_have_the_strict_policy",
            "tests/test_errors.py::test_the_iframe_form_differs_from_the_strict_policy_in_framing_only",
        ),
    ),
    Mutant(
        "xfo-dropped",
        "every page but the frame sends X-Frame-Options: DENY",
        "newsletter/web/security.py",
        '    "X-Frame-Options": "DENY",',
        "",
        (
            "tests/test_errors.py::test_security_headers",
            "tests/test_embed.py::test_every_other_page_stays_unframable",
        ),
    ),
    Mutant(
        "token-purpose-crossed",
        "a confirm token cannot unsubscribe (forged links; a shared salt alone changes "
        "nothing, the two token formats differ)",
        "newsletter/link_tokens.py",
        "    return _read_lasting(secret, UNSUBSCRIBE_SALT, token)",
        "    return _read_lasting(secret, UNSUBSCRIBE_SALT, token) "
        'if token.count(".") == 1 else '
        "URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).loads(token)[0]",
        (
            "tests/test_links.py::test_tokens_are_bound_to_their_purpose",
            "tests/test_links.py::test_confirm_token_cannot_unsubscribe_a_pending_reader",
            "tests/test_link_tokens.py",
        ),
    ),
    Mutant(
        "referrer-policy-dropped",
        "token pages send Referrer-Policy: no-referrer (tokens leaking)",
        "newsletter/web/security.py",
        'TOKEN_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}',
        'TOKEN_PAGE_HEADERS = {"Cache-Control": "no-store"}',
        ("tests/test_links.py::test_token_pages_keep_their_token_private",),
    ),
    Mutant(
        "admin-route-open",
        "every admin route refuses anonymous visitors (admin takeover)",
        "newsletter/web/admin/access.py",
        'OPEN_ENDPOINTS = {"admin.login"}',
        'OPEN_ENDPOINTS = {"admin.login", "admin.dashboard"}',
        (
            "tests/test_admin_access.py::test_every_admin_page_sends_anonymous_visitors_to_sign_in",
            "tests/test_admin_access.py::test_every_admin_route_answers_json_401_to_scripts",
        ),
    ),
    Mutant(
        "password-plain",
        "passwords are stored as scrypt hashes (admin takeover)",
        "newsletter/editors.py",
        '    return generate_password_hash(password, method="scrypt")',
        '    return generate_password_hash(password, method="pbkdf2:sha1:1")',
        ("tests/test_admin_access.py::test_stored_password_is_a_scrypt_hash_never_the_password",),
    ),
    Mutant(
        "session-kept-at-sign-in",
        "signing in starts a fresh session (session fixation)",
        "newsletter/web/admin/auth.py",
        "    session.clear()  # a fresh session at sign-in: nothing from before carries over",
        "",
        ("tests/test_admin_access.py::test_signing_in_starts_a_fresh_session",),
    ),
    Mutant(
        "next-open-redirect",
        "`next` only leads inside /admin (no open redirect)",
        "newsletter/web/admin/auth.py",
        '    inside = text.startswith("/") and (path == "/admin" or path.startswith("/admin/"))',
        '    inside = text.startswith("/")',
        ("tests/test_admin_access.py::test_next_elsewhere_is_ignored",),
    ),
    Mutant(
        "export-without-auth",
        "the export needs a signed-in editor or an API token (data export)",
        "newsletter/web/admin/access.py",
        'OPEN_ENDPOINTS = {"admin.login"}',
        'OPEN_ENDPOINTS = {"admin.login", "admin.export_csv"}',
        (
            "tests/test_admin_access.py::test_every_admin_page_sends_anonymous_visitors_to_sign_in",
            "tests/test_admin_access.py::test_every_admin_route_answers_json_401_to_scripts",
            "tests/test_admin_access.py::test_token_opens_the_export_and_nothing_else",
        ),
    ),
    Mutant(
        "revoked-token-accepted",
        "a revoked API token opens nothing (data export)",
        "newsletter/api_tokens.py",
        "    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():",
        "    if token is None or token.expires_at <= utcnow():",
        (
            "tests/test_admin_access.py::test_export_refuses_a_revoked_token",
            "tests/test_erasure.py::test_revoked_token_no_longer_exports_and_others_still_do",
        ),
    ),
    Mutant(
        "formula-guard-without-tab-cr-lf",
        "cells a spreadsheet would run as formulas are neutralised (data export)",
        "newsletter/csv_export.py",
        'FORMULA_STARTS = ("=", "+", "-", "@", "\\t", "\\r", "\\n")',
        'FORMULA_STARTS = ("=", "+", "-", "@")',
        (
            "tests/test_properties.py",
            "tests/test_export.py::test_formula_cells_are_neutralised",
        ),
    ),
    Mutant(
        "erasure-leaves-events",
        "erasure deletes the address, its evidence and history (keeping more than we need)",
        "newsletter/list_management.py",
        "    session.delete(reader)\n    session.flush()",
        '    reader.email = reader.email_key = f"erased-{reader.id}"\n    session.flush()',
        ("tests/test_erasure.py::test_erasure_leaves_no_trace_of_the_reader",),
    ),
    Mutant(
        "purge-takes-confirmed",
        "purge-pending deletes only signups never confirmed",
        "newsletter/list_management.py",
        "                Subscription.status == SubscriptionStatus.PENDING,\n"
        "                Subscription.signup_at < utcnow() - older_than,",
        "                Subscription.signup_at < utcnow() - older_than,",
        ("tests/test_erasure.py::test_purge_removes_only_stale_pending_signups",),
    ),
    Mutant(
        "outage-404-without-retry-after",
        "a database outage answers 503 with Retry-After (outages)",
        "newsletter/web/errors.py",
        "    unavailable = ServiceUnavailable(retry_after=OUTAGE_RETRY_SECONDS)",
        '    unavailable = __import__("werkzeug.exceptions").exceptions.NotFound()',
        ("tests/test_outage.py",),
    ),
    Mutant(
        "lease-reclaim-removed",
        "a message whose worker died goes out again after its lease (nothing lost)",
        "newsletter/db/leases.py",
        "        and_(model.status == OutboxStatus.SENDING, model.claimed_until < now),\n",
        "",
        ("tests/test_mail.py::test_a_message_whose_worker_died_goes_out_after_its_lease",),
    ),
    Mutant(
        "permanent-refusal-retried",
        "a permanent refusal (5xx about the recipient) stops the retries",
        "newsletter/mail/outbox.py",
        "    given_up = permanent or message.attempts >= max_attempts",
        "    given_up = message.attempts >= max_attempts",
        ("tests/test_mail.py::test_permanent_refusal_fails_the_message_without_retries",),
    ),
    Mutant(
        "rate-limit-fails-closed",
        "rate limits fail open when their storage (Redis) is down (outages)",
        "newsletter/web/limits.py",
        "            return action(self.local)",
        "            return False",
        (
            "tests/test_limits.py::test_signups_go_on_when_the_limit_storage_is_down",
            "tests/test_limits.py::test_editors_sign_in_when_the_limit_storage_is_down",
        ),
    ),
    Mutant(
        "address-limit-removed",
        "each address is limited across all newsletters (list bombing)",
        "newsletter/web/limits.py",
        "def check_address(normalized: str) -> None:",
        "def check_address(normalized: str) -> None:\n    return",
        ("tests/test_limits.py::test_one_address_is_limited_across_newsletters_and_networks",),
    ),
    Mutant(
        "double-opt-in-skipped",
        "nobody is subscribed until the mailbox's owner confirms (subscribing someone else)",
        "newsletter/subscriptions.py",
        "        if subscription.status is SubscriptionStatus.PENDING and may_send_confirmation(\n",
        "        subscription.status = SubscriptionStatus.CONFIRMED\n"
        "        if subscription.status is SubscriptionStatus.PENDING and "
        "may_send_confirmation(\n",
        ("tests/test_double_opt_in.py::test_signup_confirm_and_welcome",),
    ),
    Mutant(
        "links-from-host-header",
        "links are built from NEWSLETTER_PUBLIC_URL, never the request's Host",
        "newsletter/mail/messages.py",
        '''    return f"{current_app.config['PUBLIC_URL']}/confirm/{token}"''',
        '    return __import__("flask").request.host_url.rstrip("/") + f"/confirm/{token}"',
        ("tests/test_double_opt_in.py::test_signup_confirm_and_welcome",),
    ),
    Mutant(
        "signup-applied-in-request",
        "the request only records the signup, the same work for every address (enumeration "
        "by timing)",
        "newsletter/web/signups.py",
        "    signup_requests.record(db.session(), chosen, address, evidence)",
        '    __import__("newsletter.subscriptions").subscriptions.subscribe_to_all('
        "db.session(), chosen, address, evidence)",
        (
            "tests/test_signup_requests.py::test_the_request_stores_the_same_for_every_state_of_the_address",
        ),
    ),
    Mutant(
        "signup-not-committed",
        "a signup answered with success is a row in the database before the answer",
        "newsletter/db/__init__.py",
        "    db_session.commit()\n",
        "",
        (
            "tests/test_signup_requests.py::test_a_signup_is_recorded_at_once_and_applied_by_the_worker",
        ),
    ),
    Mutant(
        "idna-2003",
        "addresses leave in their IDNA 2008 form, never Python's IDNA 2003 codec's "
        "(mail to another domain's owner)",
        "newsletter/addresses.py",
        '    return f"{local}@{_ascii_domain(domain)}"',
        "    return f\"{local}@{domain.encode('idna').decode('ascii')}\"",
        (
            "tests/test_addresses.py::test_for_transport_uses_idna_2008",
            "tests/test_mail.py::test_mail_goes_to_the_idna_2008_form_of_the_domain",
            "tests/test_sender.py::test_emails_come_from_the_newsletters_sender",
        ),
    ),
    Mutant(
        "address-limit-on-plain-address",
        "the address limit counts per inbox, +tags and Gmail dots included (list bombing)",
        "newsletter/web/limits.py",
        '    _count("ADDRESS_RATE_LIMIT", ADDRESS_SCOPE, addresses.mailbox(normalized))',
        '    _count("ADDRESS_RATE_LIMIT", ADDRESS_SCOPE, addresses.key(normalized))',
        ("tests/test_limits.py::test_tagged_and_dotted_variants_share_the_address_budget",),
    ),
    Mutant(
        "ipv4-mapped-as-ipv6",
        "an IPv4-mapped IPv6 client counts as its IPv4 address, not one /64 for all of them",
        "newsletter/web/limits.py",
        "    if parsed.version == 6 and parsed.ipv4_mapped:\n"
        "        return str(parsed.ipv4_mapped)\n",
        "",
        (
            "tests/test_limits.py::test_ipv4_clients_of_a_dual_stack_server_each_have_their_own_budget",
            "tests/test_sign_in_throttle.py::test_ipv4_clients_of_a_dual_stack_server_each_have_their_own_budget",
        ),
    ),
    Mutant(
        "ipv6-per-address",
        "an IPv6 client is limited per /64, which one household holds whole",
        "newsletter/web/limits.py",
        '        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))',
        "        return address",
        (
            "tests/test_limits.py::test_each_client_network_has_its_own_budget",
            "tests/test_sign_in_throttle.py::test_ipv6_failures_count_per_64_network",
        ),
    ),
    Mutant(
        "sign-in-counts-failures-only",
        "every sign-in attempt counts, the right password too (guessing passwords)",
        "newsletter/web/admin/auth.py",
        "        limits.count_sign_in(account)\n"
        "        editor = editors.authenticate(db.session(), form.email.data, "
        "form.password.data)\n"
        "        if editor is None:\n",
        "        editor = editors.authenticate(db.session(), form.email.data, "
        "form.password.data)\n"
        "        if editor is None:\n"
        "            limits.count_sign_in(account)\n",
        (
            "tests/test_sign_in_throttle.py::test_failures_on_an_account_block_it_only_from_that_network",
        ),
    ),
    Mutant(
        "sign-in-checked-before-counted",
        "each sign-in attempt is counted before its password is checked, so parallel guesses "
        "get no more checks than the limit (the code before: check the counts, then count "
        "a failure)",
        "newsletter/web/admin/auth.py",
        "        limits.count_sign_in(account)\n"
        "        editor = editors.authenticate(db.session(), form.email.data, "
        "form.password.data)\n"
        "        if editor is None:\n",
        "        counts, network = limits._counts(), limits.client_network()\n"
        '        config = __import__("flask").current_app.config\n'
        "        keys = [\n"
        '            ("LOGIN_NETWORK_RATE_LIMIT", limits.SIGN_IN_NETWORK_SCOPE, network),\n'
        '            ("LOGIN_RATE_LIMIT", limits.SIGN_IN_SCOPE, account, network),\n'
        "        ]\n"
        "        if not all(\n"
        "            counts.shared.test(item, counts.prefix, *key)\n"
        "            for setting, *key in keys\n"
        '            for item in __import__("limits").parse_many(config[setting])\n'
        "        ):\n"
        "            abort(429)\n"
        "        editor = editors.authenticate(db.session(), form.email.data, "
        "form.password.data)\n"
        "        if editor is None:\n"
        "            for setting, *key in keys:\n"
        "                counts.hit(config[setting], *key)\n",
        (
            "tests/test_sign_in_throttle.py::test_parallel_guesses_check_no_more_passwords_than_the_limit",
        ),
        POSTGRESQL,  # SQLite runs one writing request at a time: no guess overtakes another
    ),
    Mutant(
        "sign-in-locked-per-account",
        "failures lock an account only from the network that failed (no locking editors out)",
        "newsletter/web/limits.py",
        '    _count("LOGIN_RATE_LIMIT", SIGN_IN_SCOPE, account, network)',
        '    _count("LOGIN_RATE_LIMIT", SIGN_IN_SCOPE, account)',
        (
            "tests/test_sign_in_throttle.py::test_failures_on_an_account_block_it_only_from_that_network",
        ),
    ),
    Mutant(
        "sign-in-network-limit-removed",
        "one network is limited across accounts (guessing many editors' passwords)",
        "newsletter/web/limits.py",
        '    _count("LOGIN_NETWORK_RATE_LIMIT", SIGN_IN_NETWORK_SCOPE, network)\n',
        "",
        (
            "tests/test_sign_in_throttle.py::test_failures_from_one_network_block_it_across_accounts",
        ),
    ),
    Mutant(
        "sign-in-fails-open",
        "with the limit storage down, sign-in is counted in memory, never unthrottled",
        "newsletter/web/limits.py",
        "            return action(self.local)",
        "            return True",
        (
            "tests/test_sign_in_throttle.py::test_sign_in_stays_throttled_when_the_limit_storage_is_down",
        ),
    ),
    Mutant(
        "session-version-unchecked",
        "a session made with an old session version opens nothing (copied cookies)",
        "newsletter/web/admin/auth.py",
        "    if editor is None or editor.disabled_at or "
        "editor.session_version != int(match.group(2)):",
        "    if editor is None or editor.disabled_at:",
        (
            "tests/test_admin_sessions.py::test_a_copied_session_stops_working_at_sign_out",
            "tests/test_admin_sessions.py::test_sign_out_ends_the_editors_sessions_in_other_browsers",
            "tests/test_admin_sessions.py::test_set_password_ends_sessions_and_replaces_the_password",
        ),
    ),
    Mutant(
        "sign-out-keeps-the-version",
        "signing out ends every session of the editor, copies of the cookie included",
        "newsletter/web/admin/auth.py",
        "        editors.end_sessions(db.session(), editor)\n",
        "",
        (
            "tests/test_admin_sessions.py::test_a_copied_session_stops_working_at_sign_out",
            "tests/test_admin_sessions.py::test_sign_out_ends_the_editors_sessions_in_other_browsers",
        ),
    ),
    Mutant(
        "set-password-keeps-sessions",
        "`admins set-password` ends the editor's sessions",
        "newsletter/editors.py",
        "    editor.password_hash = _hash(password)\n    end_sessions(session, editor)\n",
        "    editor.password_hash = _hash(password)\n",
        (
            "tests/test_admin_sessions.py::test_set_password_ends_sessions_and_replaces_the_password",
        ),
    ),
    Mutant(
        "idle-lifetime-removed",
        "an editor's session ends after the idle lifetime (Flask's default is 31 days)",
        "newsletter/config.py",
        '    app.config["PERMANENT_SESSION_LIFETIME"] = idle',
        "",
        (
            "tests/test_admin_sessions.py::test_the_session_cookie_expires_after_the_idle_lifetime",
            "tests/test_admin_sessions.py::test_a_cookie_older_than_the_idle_lifetime_is_refused",
        ),
    ),
    Mutant(
        "session-cookie-readable-by-script",
        "the session cookie is HttpOnly (stolen session)",
        "newsletter/config.py",
        '    "SESSION_COOKIE_HTTPONLY": True,',
        '    "SESSION_COOKIE_HTTPONLY": False,',
        ("tests/test_admin_access.py::test_session_cookie_is_httponly_samesite_lax_and_secure",),
    ),
    Mutant(
        "next-with-control-characters",
        "`next` refuses CR, LF and other control characters (header injection)",
        "newsletter/web/admin/auth.py",
        "    clean = text.isascii() and text.isprintable() and not unsafe",
        "    clean = not unsafe",
        ("tests/test_admin_access.py::test_next_elsewhere_is_ignored",),
    ),
    Mutant(
        "erasure-keeps-signup-requests",
        "erasure also forgets the address's signups not yet applied (keeping more than we need)",
        "newsletter/list_management.py",
        "    signup_requests.forget(session, reader.email_key)\n",
        "",
        ("tests/test_erasure.py::test_erasure_also_forgets_a_signup_not_yet_applied",),
    ),
    Mutant(
        "erasure-counts-one-newsletter",
        "erasing a reader leaves a tombstone in every newsletter they were in (honest counts)",
        "newsletter/list_management.py",
        "    for subscription in reader_subscriptions(session, reader):\n",
        "    for subscription in reader_subscriptions(session, reader)[:1]:\n",
        (
            "tests/test_erasure.py::"
            "test_erasure_from_one_newsletter_erases_the_reader_in_every_newsletter",
        ),
    ),
    Mutant(
        "erasure-leaves-the-wal",
        "after an erasure SQLite's WAL is checkpointed and emptied (no copy on disk)",
        "newsletter/web/erasing.py",
        "    db.after_commit(db.database().checkpoint)\n",
        "",
        ("tests/test_erasure.py::test_erasure_leaves_the_address_in_no_file_of_the_instance",),
    ),
    Mutant(
        "erasure-leaves-eml-files",
        "after an erasure the development mail folder keeps no .eml file of the address",
        "newsletter/web/erasing.py",
        "    db.after_commit(lambda: transports.app_transport().forget(address))\n",
        "",
        ("tests/test_erasure.py::test_erasure_leaves_the_address_in_no_file_of_the_instance",),
    ),
    Mutant(
        "mask-shows-a-letter",
        "logs mask the whole local part of an address",
        "newsletter/addresses.py",
        '    return ADDRESS_IN_TEXT.sub(lambda match: f"***@{match.group(1)}", text)',
        '    return ADDRESS_IN_TEXT.sub(lambda match: f"{match.group(0)[0]}***@{match.group(1)}", '
        "text)",
        ("tests/test_addresses.py::test_mask_hides_the_whole_local_part",),
    ),
    Mutant(
        "database-errors-show-parameters",
        "a database error is logged without its statement's parameters (addresses)",
        "newsletter/db/engine.py",
        "        url, hide_parameters=True, connect_args=",
        "        url, hide_parameters=False, connect_args=",
        ("tests/test_privacy.py::test_a_database_error_is_logged_without_its_parameters",),
    ),
    Mutant(
        "evidence-keeps-any-text",
        "only a valid IP address is kept as signup evidence",
        "newsletter/web/evidence.py",
        '        return str(ipaddress.ip_address((request.remote_addr or "").partition("%")[0]))',
        "        return request.remote_addr",
        ("tests/test_privacy.py::test_only_an_ip_address_is_kept_as_signup_evidence",),
    ),
    Mutant(
        "instance-folder-readable",
        "the instance folder is private (0700)",
        "newsletter/config.py",
        "PRIVATE_FOLDER_MODE = 0o700",
        "PRIVATE_FOLDER_MODE = 0o755",
        ("tests/test_privacy.py::test_the_instance_folder_and_its_files_are_private",),
    ),
    Mutant(
        "database-file-readable",
        "the SQLite database file is private (0600)",
        "newsletter/db/engine.py",
        "PRIVATE_FILE_MODE = 0o600",
        "PRIVATE_FILE_MODE = 0o644",
        ("tests/test_privacy.py::test_the_instance_folder_and_its_files_are_private",),
    ),
    Mutant(
        "smtp-password-in-clear",
        "an SMTP password is never sent without TLS except to this machine",
        "newsletter/mail/transports.py",
        '    if host.lower() == "localhost":\n        return True',
        "    return True",
        (
            "tests/test_smtp_security.py::test_a_password_without_tls_to_another_machine_is_refused_at_start",
            "tests/test_smtp_security.py::test_the_command_line_names_the_refused_setting",
        ),
    ),
    Mutant(
        "no-starttls-on-587",
        "port 587 uses STARTTLS by default",
        "newsletter/mail/transports.py",
        '        starttls = options.get("starttls", "true" if self.port == SUBMISSION_PORT '
        'else "")',
        '        starttls = options.get("starttls", "")',
        (
            "tests/test_smtp_security.py::test_tls_or_loopback_or_no_password_is_accepted",
            "tests/test_smtp_security.py::test_mail_goes_out_over_starttls_to_a_server_of_a_private_ca",
        ),
    ),
    Mutant(
        "cafile-ignored",
        "`?cafile=` is the CA that is trusted (a private CA)",
        "newsletter/mail/transports.py",
        "            self._tls = ssl.create_default_context(cafile=self.cafile)",
        "            self._tls = ssl.create_default_context()",
        (
            "tests/test_smtp_security.py::test_a_missing_cafile_is_refused_at_start",
            "tests/test_smtp_security.py::test_mail_goes_out_over_starttls_to_a_server_of_a_private_ca",
        ),
    ),
    Mutant(
        "claim-takes-the-queue",
        "each claim takes one batch, not the queue (nothing late)",
        "newsletter/db/leases.py",
        "        .limit(limit)\n        .with_for_update(skip_locked=True)\n        .cte(",
        "        .with_for_update(skip_locked=True)\n        .cte(",
        ("tests/test_mail.py::test_a_claim_takes_no_more_than_its_batch",),
    ),
    Mutant(
        "two-workers-apply-one-signup",
        "several workers apply each recorded signup exactly once (losing or doubling a signup)",
        "newsletter/signup_requests.py",
        "        .with_for_update(skip_locked=True)\n",
        "",
        ("tests/test_signup_requests.py::test_two_workers_apply_each_signup_exactly_once",),
        POSTGRESQL,
    ),
    Mutant(
        "body-guard-off",
        "every bad body gets a 4xx in the caller's format, never a 500 (bad input)",
        "newsletter/web/bodies.py",
        "    app.before_request(check_body)\n",
        "",
        (
            "tests/test_garbage_bodies.py",
            "tests/test_errors.py::test_malformed_body_is_a_4xx_and_changes_nothing",
        ),
    ),
    Mutant(
        "deep-json-recursion",
        "deeply nested JSON is a 400, not a 500 (bad input)",
        "newsletter/web/bodies.py",
        '            raise ValueError("JSON nested too deeply") from error',
        "            raise",
        ("tests/test_api.py::test_wrong_body_is_a_json_4xx",),
    ),
    Mutant(
        "name-keeps-control-characters",
        "NUL and control characters never reach the database (bad input)",
        "newsletter/newsletters.py",
        "    if CONTROL_CHARACTERS.search(name):",
        "    if False:",
        (
            "tests/test_admin_pages.py::test_a_name_with_a_nul_changes_nothing",
            "tests/test_admin_pages.py::test_invalid_newsletters_are_refused_with_the_reason",
            "tests/test_cli.py::test_bad_name_is_refused",
        ),
    ),
    Mutant(
        "formula-after-spaces",
        "a formula after leading spaces is neutralised too (data export)",
        "newsletter/csv_export.py",
        "        func.ltrim(column), 1, 1\n",
        "        column, 1, 1\n",
        (
            "tests/test_properties.py",
            "tests/test_export.py::test_cells_starting_with_a_tab_cr_lf_or_spaces_are_neutralised",
        ),
    ),
    Mutant(
        "get-manage-acts",
        "GET on a manage link only shows the page (mail scanners)",
        "newsletter/web/manage.py",
        "    choices = manage.choices(session, reader)\n",
        "    manage.leave_all(session, reader, _clicked())\n"
        "    session.commit()\n"
        "    choices = manage.choices(session, reader)\n",
        (
            "tests/test_manage.py::test_fetching_the_manage_page_changes_nothing",
            "tests/test_manage.py::test_manage_page_is_plain_forms_without_script",
        ),
    ),
    Mutant(
        "manage-token-unsubscribes",
        "a manage token is no unsubscribe token, nor the other way round (forged links)",
        "newsletter/link_tokens.py",
        'MANAGE_SALT = "newsletter.manage"',
        "MANAGE_SALT = UNSUBSCRIBE_SALT",
        (
            "tests/test_link_tokens.py::test_manage_and_unsubscribe_tokens_are_not_each_other",
            "tests/test_manage.py::test_a_manage_token_is_no_unsubscribe_token",
        ),
    ),
    Mutant(
        "manage-link-enumeration",
        "asking for a manage link answers the same for every address (enumeration)",
        "newsletter/web/manage_link.py",
        "        manage_link_requests.record(db.session(), form.email.data)",
        '        models = __import__("newsletter.models").models\n'
        "        if db.session().scalar(\n"
        '            __import__("sqlalchemy").select(models.Reader.id).where(\n'
        "                models.Reader.email_key == form.email.data.lower()\n"
        "            )\n"
        "        ) is None:\n"
        '            return redirect(url_for("manage_link.ask"), 303)\n'
        "        manage_link_requests.record(db.session(), form.email.data)",
        (
            "tests/test_manage_link.py::"
            "test_the_manage_link_goes_to_a_known_address_only_and_the_answer_is_the_same",
        ),
    ),
    Mutant(
        "manage-link-unthrottled",
        "asking for manage links is limited per inbox, like signups (list bombing)",
        "newsletter/web/manage_link.py",
        "        limits.check_address(form.email.data)",
        "        pass",
        ("tests/test_manage_link.py::test_manage_link_requests_are_throttled_per_address",),
    ),
    Mutant(
        "several-cors-any",
        "an origin may use a request about several newsletters only if every one allows it",
        "newsletter/web/newsletter_choice.py",
        "    return all(origins.is_allowed(newsletter, origin) for newsletter in offered)",
        "    return any(origins.is_allowed(newsletter, origin) for newsletter in offered)",
        ("tests/test_api_several.py::test_cors_needs_every_newsletter_to_allow_the_origin",),
    ),
    Mutant(
        "several-framed-by-any",
        "a form for several newsletters is framed only by origins every one of them allows",
        "newsletter/web/newsletter_choice.py",
        "        if all(origin in newsletter.allowed_origins for newsletter in others)",
        "        if any(origin in newsletter.allowed_origins for newsletter in others) or True",
        ("tests/test_several.py::test_only_origins_every_newsletter_allows_may_frame_the_form",),
    ),
    Mutant(
        "newsletter-snapshot-kept-after-a-change",
        "a newsletter changed in a process is seen by that process's next request",
        "newsletter/newsletter_snapshot.py",
        "        snapshots.changed()",
        "        pass",
        (
            "tests/test_newsletter_snapshot.py::"
            "test_a_change_is_seen_by_the_next_request_of_the_process_that_made_it",
        ),
    ),
    Mutant(
        "several-one-email-each",
        "a signup to several newsletters sends one confirmation email, not one per newsletter",
        "newsletter/subscriptions.py",
        "        queue_confirmation(session, to_confirm)",
        "        for subscription in to_confirm:\n"
        "            queue_confirmation(session, [subscription])",
        (
            "tests/test_several.py::test_one_signup_one_email_whose_button_confirms_exactly_the_chosen",
        ),
    ),
    Mutant(
        "import-resubscribes-opted-out",
        "an address that unsubscribed or bounced here is never made a subscriber by an import",
        "newsletter/import_batch.py",
        "    if here.opted_out and not there.opted_out:",
        "    if here is SubscriptionStatus.BOUNCED and not there.opted_out:",
        ("tests/test_import.py::test_an_address_that_left_here_is_never_made_a_subscriber",),
    ),
    Mutant(
        "import-unbounces",
        "an import never undoes a bounce",
        "newsletter/import_batch.py",
        "    (SubscriptionStatus.BOUNCED, SubscriptionStatus.UNSUBSCRIBED),\n",
        "",
        ("tests/test_import_rows.py::test_an_import_never_undoes_a_bounce",),
    ),
    Mutant(
        "roles-unchecked",
        "every admin route checks the caller's role on the route's newsletter (rogue editor)",
        "newsletter/web/admin/access.py",
        "    if need is None or not current_access().may(need, newsletter):",
        "    if need is None:",
        ("tests/test_roles.py::test_every_admin_route_answers_what_the_role_allows",),
    ),
    Mutant(
        "viewer-edits",
        "a viewer sees counts and the chart only: no subscriber, no export (rogue editor)",
        "newsletter/roles.py",
        "            return covered and self.role is Role.EDITOR",
        "            return covered",
        (
            "tests/test_roles.py::test_every_admin_route_answers_what_the_role_allows",
            "tests/test_roles.py::test_a_viewer_sees_counts_and_chart_of_their_newsletter_only",
        ),
    ),
    Mutant(
        "audit-rewritable",
        "no statement of the app changes or deletes an audit entry but the retention purge",
        "newsletter/audit.py",
        '    if CHANGING_STATEMENT.match(statement) and not getattr(_purging, "active", False):',
        "    if False:",
        ("tests/test_audit.py::test_the_app_cannot_change_or_delete_an_entry",),
    ),
    Mutant(
        "token-never-expires",
        "an expired API token is no token: 401 (leaked token)",
        "newsletter/api_tokens.py",
        " or token.expires_at <= utcnow():",
        ":",
        (
            "tests/test_token_scopes.py::test_each_export_route_answers_by_the_tokens_scope_and_expiry",
        ),
    ),
    Mutant(
        "scoped-export-of-all",
        "every newsletter's export holds only the newsletters the caller may export (leaked token)",
        "newsletter/exports.py",
        "    only = None if newsletter or every else [n.id for n in covered]",
        "    only = None",
        (
            "tests/test_token_scopes.py::test_a_scoped_tokens_every_newsletter_export_holds_its_newsletters_only",
            "tests/test_roles.py::test_an_editors_all_newsletters_export_holds_their_newsletters_only",
        ),
    ),
    Mutant(
        "password-alone-signs-in",
        "an enrolled editor's password alone opens nothing: the code step comes first",
        "newsletter/web/admin/auth.py",
        '        if two_factor.enrolled(editor) or current_app.config["ADMIN_REQUIRE_2FA"]:',
        '        if current_app.config["ADMIN_REQUIRE_2FA"]:',
        ("tests/test_two_factor.py::test_a_password_alone_no_longer_signs_in",),
    ),
    Mutant(
        "totp-code-replayed",
        "a code from the app is good once, also within its 30-second window",
        "newsletter/two_factor.py",
        "            if editor.totp_last_step is not None and step <= editor.totp_last_step:",
        "            if False:",
        ("tests/test_two_factor.py::test_a_code_works_once_within_its_window",),
    ),
    Mutant(
        "recovery-code-reused",
        "a recovery code signs in once",
        "newsletter/two_factor.py",
        "            RecoveryCode.used_at.is_(None),\n",
        "",
        ("tests/test_two_factor.py::test_a_recovery_code_signs_in_once",),
    ),
    Mutant(
        "second-step-unthrottled",
        "codes at the second sign-in step are throttled like passwords",
        "newsletter/web/admin/two_factor_pages.py",
        "        limits.count_second_step(account)\n"
        "    except TooManyRequests as refused:\n"
        '        return _throttled("admin/sign_in_code.html", refused, form=form)',
        "        pass\n"
        "    except TooManyRequests as refused:\n"
        '        return _throttled("admin/sign_in_code.html", refused, form=form)',
        (
            "tests/test_sign_in_throttle.py::test_wrong_codes_are_throttled_and_a_right_password_does_not_renew_the_budget",
        ),
    ),
    Mutant(
        "data-download-of-everyone",
        "a reader's download holds their data and nobody else's",
        "newsletter/reader_data.py",
        "            for subscription in list_management.reader_subscriptions(session, reader)",
        "            for subscription in session.scalars("
        '__import__("sqlalchemy").select(Subscription))',
        (
            "tests/test_self_service.py::test_the_json_download_holds_the_readers_data_and_nobody_elses",
        ),
    ),
    Mutant(
        "erasure-notice-kept",
        "the email saying a reader was erased is not kept once sent",
        "newsletter/mail/worker.py",
        "        forgotten = [envelope for envelope in sent"
        " if envelope.kind in outbox.FORGOTTEN_KINDS]",
        "        forgotten: list[outbox.Envelope] = []",
        ("tests/test_self_service.py::test_erase_me_erases_everywhere_and_says_so_by_email",),
    ),
    Mutant(
        "ip-retention-ignored",
        "IP addresses older than NEWSLETTER_IP_RETENTION_DAYS are removed, younger ones kept",
        "newsletter/retention.py",
        "            .where(column.is_not(None), recorded_at < cutoff)",
        "            .where(column.is_not(None))",
        (
            "tests/test_retention.py::test_daily_removes_old_ip_addresses_and_keeps_the_consent_record",
        ),
    ),
    Mutant(
        "webhook-private-address-resolved",
        "a webhook goes to no private address, even by a name resolved at delivery (SSRF)",
        "newsletter/webhooks/endpoints.py",
        "    if ip.is_loopback:\n        return allow_loopback\n",
        "    if ip.is_loopback:\n        return True\n",
        (
            "tests/test_webhooks.py::"
            "test_an_address_we_do_not_send_to_is_refused_when_the_name_resolves",
        ),
    ),
    Mutant(
        "webhook-private-address-registered",
        "a webhook URL naming a private address is refused when registered (SSRF)",
        "newsletter/webhooks/endpoints.py",
        "        return True\n    return ip.is_global and not ip.is_multicast\n",
        "        return True\n    return True\n",
        ("tests/test_webhooks.py::test_a_url_we_would_not_send_to_is_refused_and_nothing_stored",),
    ),
    Mutant(
        "webhook-unsigned",
        "webhook events are signed with their endpoint's secret (forged events)",
        "newsletter/webhooks/sender.py",
        "Webhook(claimed.secret).sign(",
        'Webhook("whsec_" + "A" * 44).sign(',
        ("tests/test_webhooks.py::test_each_status_change_is_delivered_signed",),
    ),
    Mutant(
        "webhook-new-id-per-attempt",
        "a retried webhook event keeps its webhook-id (at least once, duplicates detectable)",
        "newsletter/webhooks/sender.py",
        '        "webhook-id": claimed.webhook_id,',
        '        "webhook-id": __import__("secrets").token_hex(8),',
        (
            "tests/test_webhooks.py::test_retries_after_a_500_and_a_dropped_connection",
            "tests/test_webhooks.py::"
            "test_a_worker_killed_mid_request_leaves_the_event_to_another_with_the_same_id",
        ),
    ),
    Mutant(
        "webhook-erasure-with-address",
        "an erasure's webhook event carries no address (keeping more than we need)",
        "newsletter/webhooks/events.py",
        "        _queue(session, endpoints, ERASED, _names(subscription), utcnow(), None)",
        '        _queue(session, endpoints, ERASED, {**_names(subscription), "email": '
        "subscription.email}, utcnow(), None)",
        (
            "tests/test_webhooks.py::"
            "test_an_erasure_event_names_no_address_and_the_address_leaves_the_queue",
        ),
    ),
    Mutant(
        "dkim-unsigned",
        "every email is DKIM-signed when a key is configured (deliverability)",
        "newsletter/mail/worker.py",
        "                        send(self._signed(envelope))",
        "                        send(envelope)",
        ("tests/test_dkim.py::test_every_email_is_signed_and_verifies",),
    ),
    Mutant(
        "webhook-signature-unchecked",
        "a Mailgun webhook call whose signature does not match changes nothing (forgery)",
        "newsletter/bounce_providers/mailgun.py",
        "    if not token or not hmac.compare_digest(expected, given.lower()):",
        "    if not token:",
        ("tests/test_bounce_webhooks.py::test_mailgun_bad_signature_is_refused",),
    ),
    Mutant(
        "webhook-token-replayed",
        "a Mailgun webhook call's token is good once (replay)",
        "newsletter/web/bounce_webhooks.py",
        "    if verified.nonce and not bounces.first_seen(",
        "    if False and not bounces.first_seen(",
        ("tests/test_bounce_webhooks.py::test_mailgun_reused_token_is_refused",),
    ),
    Mutant(
        "sns-any-certificate-host",
        "an SNS signing certificate is only fetched over https from an SNS host (forgery)",
        "newsletter/bounce_providers/ses.py",
        '    if parts.scheme != "https" or not re.fullmatch(host_pattern, parts.hostname or ""):',
        "    if False:",
        ("tests/test_bounce_webhooks.py::test_ses_certificate_from_elsewhere_is_never_fetched",),
    ),
    Mutant(
        "sns-any-topic",
        "only our SNS topics' notifications count (anyone's topic is signed by SNS too)",
        "newsletter/bounce_providers/ses.py",
        '    if fields.get("TopicArn") not in topics:',
        "    if False:",
        ("tests/test_bounce_webhooks.py::test_ses_notification_of_another_topic_is_refused",),
    ),
    Mutant(
        "suppression-skipped",
        "mail queued before a bounce or complaint is not sent to that address",
        "newsletter/mail/outbox.py",
        "        held_back=SUPPRESSED_ADDRESS,\n",
        "",
        (
            "tests/test_bounce_ingest.py::"
            "test_mail_queued_before_a_bounce_is_not_sent_and_a_new_signup_lifts_it",
            "tests/test_bounce_ingest.py::test_mail_queued_before_a_complaint_is_not_sent",
        ),
    ),
]


def copy_tree(destination: Path) -> Path:
    """The repository's files (not its venv, git or caches) in a scratch folder."""
    scratch = destination / "repo"
    shutil.copytree(ROOT, scratch, ignore=COPY_IGNORED, symlinks=True)
    return scratch


def check_imports_resolve_to(scratch: Path) -> None:
    """Make sure the scratch copy, not the installed (editable) package, is imported."""
    found = subprocess.run(
        [sys.executable, "-c", "import newsletter; print(newsletter.__file__)"],
        cwd=scratch,
        env=environment(scratch),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).is_relative_to(scratch):
        sys.exit(f"the scratch copy's tests would import {found}, not the copy in {scratch}")


def environment(scratch: Path, backend: str = SQLITE) -> dict[str, str]:
    """The copy first on the path; the PostgreSQL URL only for a PostgreSQL run.

    On SQLite nothing outside the copy is touched; CI is dropped either way, so that a
    service a test needs and lacks skips it rather than failing the baseline.
    """
    dropped = ("CI",) if backend == POSTGRESQL else (POSTGRES_URL_VARIABLE, "CI")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["PYTHONPATH"] = str(scratch)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_tests(
    scratch: Path, tests: tuple[str, ...], backend: str = SQLITE
) -> tuple[int | None, str]:
    """pytest on the named tests in the copy, their ``backend`` runs only; (exit code or
    None, output)."""
    chosen = "postgresql" if backend == POSTGRESQL else "not postgresql"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-rfE",
        "-m",
        "not slow",
        "-k",
        chosen,
        *tests,
    ]
    try:
        done = subprocess.run(
            command,
            cwd=scratch,
            env=environment(scratch, backend),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stdout + done.stderr


def apply(scratch: Path, mutant: Mutant) -> str | None:
    """Write the mutant into the copy; the original text, or None if the mutant is stale."""
    path = scratch / mutant.path
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.original) != 1:
        return None
    path.write_text(text.replace(mutant.original, mutant.replacement), encoding="utf-8")
    return text


def verdict(code: int | None, output: str) -> tuple[str, list[str]]:
    """CAUGHT (with the failing tests), SURVIVED, or ERROR (pytest could not run them)."""
    if code is None:
        return "CAUGHT", [f"(the tests hung for {RUN_TIMEOUT_SECONDS} s)"]
    if code == 0:
        return "SURVIVED", []
    if code == 1:
        return "CAUGHT", FAILED_LINE.findall(output)
    return "ERROR", [f"pytest exit code {code}", *output.strip().splitlines()[-5:]]


def runnable(backend: str) -> bool:
    """Whether this machine can run tests on ``backend`` (PostgreSQL needs its URL)."""
    return backend == SQLITE or bool(os.environ.get(POSTGRES_URL_VARIABLE))


def baseline(scratch: Path, chosen: list[Mutant]) -> None:
    """Run every named test once, unchanged, per backend; exit if any fails."""
    for backend in (SQLITE, POSTGRESQL):
        tests = {test for mutant in chosen if mutant.backend == backend for test in mutant.tests}
        if not tests or not runnable(backend):
            continue
        code, output = run_tests(scratch, tuple(sorted(tests)), backend)
        if code != 0:
            print(output[-3000:])
            sys.exit(f"the baseline fails on {backend}: fix the tests before judging mutants")
        print(f"baseline: the {len(tests)} test files and ids pass unchanged on {backend}")


def judge(scratch: Path, mutant: Mutant) -> tuple[str, list[str]]:
    """Apply one mutant to the copy, run its tests, and put the original back."""
    if not runnable(mutant.backend):
        return "SKIPPED", [f"{POSTGRES_URL_VARIABLE} is not set (its tests need PostgreSQL)"]
    original = apply(scratch, mutant)
    if original is None:
        return "STALE", [f"original snippet not found once in {mutant.path}"]
    try:
        return verdict(*run_tests(scratch, mutant.tests, mutant.backend))
    finally:
        (scratch / mutant.path).write_text(original, encoding="utf-8")


def main() -> None:
    """Run the mutants named on the command line (default: all); exit 1 unless all caught."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    arguments = parser.parse_args()
    chosen = [mutant for mutant in MUTANTS if not arguments.names or mutant.name in arguments.names]
    unknown = set(arguments.names) - {mutant.name for mutant in MUTANTS}
    if unknown:
        sys.exit(f"no such mutant: {', '.join(sorted(unknown))}")

    run_started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsletter-mutants-") as temporary:
        scratch = copy_tree(Path(temporary))
        check_imports_resolve_to(scratch)
        if not arguments.no_baseline:
            baseline(scratch, chosen)
        results = []
        for mutant in chosen:
            started = time.monotonic()
            outcome, details = judge(scratch, mutant)
            results.append(outcome)
            print(
                f"{outcome:8} {mutant.name} ({time.monotonic() - started:.0f} s): {mutant.promise}",
                flush=True,
            )
            for line in details:
                print(f"         {line}", flush=True)

    counts = {
        outcome: results.count(outcome)
        for outcome in ("CAUGHT", "SURVIVED", "STALE", "ERROR", "SKIPPED")
    }
    summary = ", ".join(f"{n} {outcome.lower()}" for outcome, n in counts.items())
    print(f"{summary} ({time.monotonic() - run_started:.0f} s)")
    skipped_is_fine = counts["SKIPPED"] == 0 or not IN_CI
    sys.exit(0 if counts["CAUGHT"] + counts["SKIPPED"] == len(results) and skipped_is_fine else 1)


if __name__ == "__main__":
    main()
