"""Mutation check: does each promise have a test that fails when the promise is broken?

``make mutants`` (or ``python -m tests.mutants [NAME…]``) applies each mutant below, one at
a time, to a scratch copy of the repository: a one-line deliberate bug standing for one
promise of SECURITY.md or the README. It runs the named tests there, on SQLite only, and
reports the mutant CAUGHT (a test failed; the failing tests are listed) or SURVIVED (every
test passed: the promise is not guarded). A mutant whose original snippet is no longer
found exactly once is reported STALE: the code moved, and the mutant must be re-anchored.
The exit status is non-zero if any mutant survived, is stale, or could not be run.

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


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: ``original`` (found exactly once in ``path``) becomes ``replacement``."""

    name: str
    promise: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]  # files or test ids: the tests that stand for the promise


MUTANTS = [
    Mutant(
        "get-confirms",
        "GET on a confirm link only shows a page (mail scanners)",
        "newsletter/web/links.py",
        "    link = _follow(subscriptions.inspect_confirm_link, token)\n"
        '    return _render("links/confirm.html", link, token)',
        "    link = _act(subscriptions.confirm, token)\n"
        '    return _render("links/confirm.html", link, token)',
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
        "newsletter/subscriptions.py",
        "    if subscription.status is SubscriptionStatus.UNSUBSCRIBED:\n"
        "        _start_new_round(subscription, evidence)",
        "    if subscription.status is SubscriptionStatus.CONFIRMED:\n"
        '        raise LookupError("already subscribed")\n'
        "    if subscription.status is SubscriptionStatus.UNSUBSCRIBED:\n"
        "        _start_new_round(subscription, evidence)",
        (
            "tests/test_signup.py::test_answer_does_not_reveal_whether_an_address_is_subscribed",
            "tests/test_api.py::test_answer_does_not_reveal_the_address_state",
        ),
    ),
    Mutant(
        "csrf-skipped",
        "our own signup page needs its session CSRF token (CSRF)",
        "newsletter/web/__init__.py",
        "    for cookieless in (embed.bp, api.bp, links.bp, health.bp):",
        "    for cookieless in (embed.bp, api.bp, links.bp, health.bp, pages.bp):",
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
        "    security.allow_framing_by(found.allowed_origins)",
        '    security.allow_framing_by(["*"])',
        ("tests/test_embed.py::test_frame_may_be_embedded_by_the_allowed_origins_only",),
    ),
    Mutant(
        "frame-ancestors-any-newsletter",
        "a newsletter's frame lists its own allowed origins, not another's",
        "newsletter/web/embed.py",
        "    security.allow_framing_by(found.allowed_origins)",
        "    security.allow_framing_by([origin for other in db.session().scalars("
        '__import__("sqlalchemy").select(Newsletter)) for origin in other.allowed_origins])',
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
        "newsletter/tokens.py",
        "        public_id = URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT).loads(token)",
        "        public_id = URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT).loads(token) "
        'if token.count(".") == 1 else '
        "URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).loads(token)[0]",
        (
            "tests/test_links.py::test_tokens_are_bound_to_their_purpose",
            "tests/test_links.py::test_confirm_token_cannot_unsubscribe_a_pending_reader",
            "tests/test_tokens.py",
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
        "newsletter/web/admin/auth.py",
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
        '        password_hash=generate_password_hash(password, method="scrypt"),',
        '        password_hash=generate_password_hash(password, method="pbkdf2:sha1:1"),',
        ("tests/test_admin_access.py::test_stored_password_is_a_scrypt_hash_never_the_password",),
    ),
    Mutant(
        "session-kept-at-sign-in",
        "signing in starts a fresh session (session fixation)",
        "newsletter/web/admin/auth.py",
        "        session.clear()  # a fresh session at sign-in: nothing from before carries over",
        "",
        ("tests/test_admin_access.py::test_signing_in_starts_a_fresh_session",),
    ),
    Mutant(
        "next-open-redirect",
        "`next` only leads inside /admin (no open redirect)",
        "newsletter/web/admin/auth.py",
        '    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") '
        'or "\\\\" in target:',
        '    if not parts.path.startswith("/"):',
        ("tests/test_admin_access.py::test_next_elsewhere_is_ignored",),
    ),
    Mutant(
        "export-without-auth",
        "the export needs a signed-in editor or an API token (data export)",
        "newsletter/web/admin/auth.py",
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
        "    if token is None or token.revoked_at is not None:",
        "    if token is None:",
        (
            "tests/test_admin_access.py::test_export_refuses_a_revoked_token",
            "tests/test_erasure.py::test_revoked_token_no_longer_exports_and_others_still_do",
        ),
    ),
    Mutant(
        "formula-guard-without-tab-cr-lf",
        "cells a spreadsheet would run as formulas are neutralised (data export)",
        "newsletter/export.py",
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
        "newsletter/subscribers.py",
        "    session.delete(subscription)\n    session.flush()",
        '    subscription.email = subscription.email_key = f"erased-{subscription.id}"\n'
        "    session.flush()",
        ("tests/test_erasure.py::test_erasure_leaves_no_trace_of_the_reader",),
    ),
    Mutant(
        "purge-takes-confirmed",
        "purge-pending deletes only signups never confirmed",
        "newsletter/subscribers.py",
        "            Subscription.status == SubscriptionStatus.PENDING,\n"
        "            Subscription.signup_at < utcnow() - older_than,",
        "            Subscription.signup_at < utcnow() - older_than,",
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
        "newsletter/mail/outbox.py",
        "        and_(OutboxMessage.status == OutboxStatus.SENDING, "
        "OutboxMessage.claimed_until < now),\n",
        "",
        ("tests/test_mail.py::test_a_message_whose_worker_died_goes_out_after_its_lease",),
    ),
    Mutant(
        "permanent-refusal-retried",
        "a permanent refusal (5xx about the recipient) stops the retries",
        "newsletter/mail/outbox.py",
        "    if permanent or message.attempts >= max_attempts:",
        "    if message.attempts >= max_attempts:",
        ("tests/test_mail.py::test_permanent_refusal_fails_the_message_without_retries",),
    ),
    Mutant(
        "rate-limit-fails-closed",
        "rate limits fail open when their storage (Redis) is down (outages)",
        "newsletter/web/limits.py",
        'limit skipped: %s", scope, error)\n        return True',
        'limit skipped: %s", scope, error)\n        return False',
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
        "    if subscription.status is SubscriptionStatus.PENDING and "
        "_may_send_confirmation(subscription):",
        "    subscription.status = SubscriptionStatus.CONFIRMED\n"
        "    if subscription.status is SubscriptionStatus.PENDING and "
        "_may_send_confirmation(subscription):",
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


def environment(scratch: Path) -> dict[str, str]:
    """Only SQLite: no PostgreSQL URL, so nothing outside the copy is touched."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NEWSLETTER_TEST_DATABASE_URL", "CI")
    }
    env["PYTHONPATH"] = str(scratch)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_tests(scratch: Path, tests: tuple[str, ...]) -> tuple[int | None, str]:
    """pytest on the named files in the copy, SQLite runs only; (exit code or None, output)."""
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
        "not postgresql",
        *tests,
    ]
    try:
        done = subprocess.run(
            command,
            cwd=scratch,
            env=environment(scratch),
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

    with tempfile.TemporaryDirectory(prefix="newsletter-mutants-") as temporary:
        scratch = copy_tree(Path(temporary))
        check_imports_resolve_to(scratch)
        if not arguments.no_baseline:
            files = tuple(sorted({test for mutant in chosen for test in mutant.tests}))
            code, output = run_tests(scratch, files)
            if code != 0:
                print(output[-3000:])
                sys.exit("the baseline fails: fix the tests before judging mutants")
            print(f"baseline: the {len(files)} test files and ids pass unchanged", flush=True)
        results = []
        for mutant in chosen:
            started = time.monotonic()
            original = apply(scratch, mutant)
            if original is None:
                outcome, details = "STALE", [f"original snippet not found once in {mutant.path}"]
            else:
                try:
                    outcome, details = verdict(*run_tests(scratch, mutant.tests))
                finally:
                    (scratch / mutant.path).write_text(original, encoding="utf-8")
            results.append((mutant, outcome))
            print(
                f"{outcome:8} {mutant.name} ({time.monotonic() - started:.0f} s): {mutant.promise}",
                flush=True,
            )
            for line in details:
                print(f"         {line}", flush=True)

    counts = {
        outcome: sum(1 for _, seen in results if seen == outcome)
        for outcome in ("CAUGHT", "SURVIVED", "STALE", "ERROR")
    }
    print(", ".join(f"{n} {outcome.lower()}" for outcome, n in counts.items()))
    sys.exit(0 if counts["CAUGHT"] == len(results) else 1)


if __name__ == "__main__":
    main()
