"""Signing editors in and out, and keeping everyone else out of ``/admin``."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask import Request
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from wtforms import EmailField
from wtforms import PasswordField
from wtforms.validators import DataRequired

from newsletter import addresses
from newsletter import api_tokens
from newsletter import audit
from newsletter import db
from newsletter import editors
from newsletter import roles
from newsletter import two_factor
from newsletter.access_models import AuditAction
from newsletter.db.types import utcnow
from newsletter.models import Editor
from newsletter.roles import Access
from newsletter.roles import Need
from newsletter.web import limits
from newsletter.web import slugs
from newsletter.web.admin import bp
from newsletter.web.admin.access import OPEN_ENDPOINTS
from newsletter.web.admin.access import SECOND_STEP_ENDPOINTS
from newsletter.web.admin.access import authorize
from newsletter.web.admin.access import requires
from newsletter.web.errors import wants_json
from newsletter.web.evidence import client_ip

# Endpoints scripts may call with an API token instead of a session.
TOKEN_ENDPOINTS = {"admin.export_csv", "admin.export_all_csv"}
# What SignedInEditor.get_id makes: the editor's id and session version.
SESSION_ID = re.compile(r"(\d{1,18})-(\d{1,18})")
# The session key of a sign-in half done (the password given, a code to come), and how
# long it may wait for the code (or for enrolment, when two-factor sign-in is required).
PENDING = "half_signed_in"
PENDING_SECONDS = 10 * 60


@dataclass
class SignedInEditor(UserMixin):
    """The editor in the session (not the ORM row: the session outlives the request's).

    The session names the editor by id and session version ("7-3"): bumping the version
    in the database ends every session made with the old one. Their access is read from
    the database at each request, so a role change applies at once.
    """

    id: int
    email: str
    session_version: int
    access: Access

    def get_id(self) -> str:
        """What Flask-Login keeps in the session, and gives back to :func:`_load_editor`."""
        return f"{self.id}-{self.session_version}"


@dataclass
class ScriptWithToken(UserMixin):
    """A script let in for one request by its API token; never kept in a session."""

    token_name: str
    access: Access

    def get_id(self) -> str:
        return f"token:{self.token_name}"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


login_manager = LoginManager()
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_editor(session_id: str) -> SignedInEditor | None:
    """The editor a session names, if the account exists, is enabled and the version holds."""
    editor = _editor_named(session_id)
    return signed_in(editor) if editor is not None else None


def _editor_named(session_id: str, *, lock: bool = False) -> Editor | None:
    """The editor a session id ("7-3") names, if the account exists, is enabled and the
    version holds (a new password, a sign-out or disabling bumps it)."""
    match = SESSION_ID.fullmatch(session_id)
    if match is None:
        return None
    editor = db.session().get(Editor, int(match.group(1)), with_for_update=lock)
    if editor is None or editor.disabled_at or editor.session_version != int(match.group(2)):
        return None
    return editor


@login_manager.request_loader
def _load_script(incoming: Request) -> ScriptWithToken | None:
    """A ``Bearer`` API token, on the endpoints scripts may call; any other is nobody."""
    scheme, _, secret = incoming.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or incoming.endpoint not in TOKEN_ENDPOINTS:
        return None
    # In a transaction of its own, not the request's (a GET, read-only): a use counts
    # whatever the request's fate.
    with db.database().transaction() as session:
        token = api_tokens.authenticate(session, secret.strip())
        if token is None:
            return None
        return ScriptWithToken(token.name, api_tokens.access_of(session, token))


def signed_in(editor: Editor) -> SignedInEditor:
    """The session's view of an editor, with their current session version and access."""
    access = roles.access_of(db.session(), editor)
    return SignedInEditor(editor.id, editor.email, editor.session_version, access)


def init_app(app: Flask) -> None:
    """Attach Flask-Login to the app."""
    login_manager.init_app(app)


def who() -> str:
    """Who is acting, for logs and the history: the editor's address or the token's name."""
    if isinstance(current_user, ScriptWithToken):
        return f"token {current_user.token_name}"
    return current_user.email if current_user.is_authenticated else "nobody"


@bp.before_request
def _require_editor():
    """Let signed-in editors through, and scripts with a token where tokens are allowed."""
    if request.endpoint in OPEN_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.endpoint in SECOND_STEP_ENDPOINTS and PENDING in session:
        return None
    # Credentials that did not hold, or a script: there is no page for it to sign in on.
    if request.headers.get("Authorization") or wants_json():
        abort(401)
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


# After the sign-in check: to an anonymous visitor, every admin URL leads to the sign-in.
slugs.look_up_newsletters_after_guards(bp)
# Then what the route needs, on the newsletter it is about.
bp.before_request(authorize)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in: the password first (throttled per account and network, and per network),
    then the second factor where the editor has one or must enrol (:mod:`two_factor_pages`)."""
    form = LoginForm()
    if form.validate_on_submit():
        account = account_key(form.email.data)
        limits.count_sign_in(account)
        editor = editors.authenticate(db.session(), form.email.data, form.password.data)
        if editor is None:
            return sign_in_failed(
                account, "admin/login.html", "That address and password do not match.", form=form
            )
        if two_factor.enrolled(editor) or current_app.config["ADMIN_REQUIRE_2FA"]:
            return _ask_for_second_step(editor, account)
        sign_in_succeeded(editor, account)
        return redirect(safe_next(request.args.get("next")), 303)
    if form.email.errors or form.password.errors:
        flash("Enter your email and password.", "error")
    return render_template("admin/login.html", form=form), 400 if form.errors else 200


def account_key(email: str) -> str:
    """What sign-in attempts are counted under: the account's address, lower-cased."""
    return addresses.key(email.strip()[: addresses.MAX_INPUT_LENGTH])


def sign_in_succeeded(editor: Editor, account: str) -> None:
    """The one place an editor becomes signed in, after every step: a fresh session. The
    account's failures on this network are forgotten only now, after every
    step, so that a right password does not renew the budget for guessing codes."""
    limits.forget_sign_in_failures(account)
    editor.last_login_at = utcnow()
    audit.record(db.session(), editor.email, AuditAction.SIGN_IN, ip=client_ip())
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    session.permanent = True  # ends after ADMIN_SESSION_IDLE_SECONDS without a request
    login_user(signed_in(editor))


def sign_in_failed(account: str, template: str, message: str, **context):
    """The one place a sign-in step is refused (a wrong password or code): on the audit
    trail, then its form again, 401, saying what was wrong."""
    _audit_failure(account)
    flash(message, "error")
    return render_template(template, **context), 401


def _audit_failure(account: str) -> None:
    """On the record: a failed sign-in step. It names the account only if it exists (the
    address field may hold a password typed in the wrong place), and is kept although
    the request's own changes are not (it answers 401)."""
    db.end_session()  # the attempt changed nothing; free the write lock for the record
    with db.database().transaction() as session:
        known = editors.find(session, account) if account.isprintable() else None
        actor = known.email if known else "unknown account"
        audit.record(session, actor, AuditAction.SIGN_IN_FAILED, ip=client_ip())


def _ask_for_second_step(editor: Editor, account: str):
    """The password was right: remember who is half-way in (not signed in), and ask for
    a code, or for enrolment if two-factor sign-in is required and they have none."""
    session.clear()
    session[PENDING] = {
        "editor": signed_in(editor).get_id(),
        "account": account,
        "next": request.args.get("next"),
        "until": int(utcnow().timestamp()) + PENDING_SECONDS,
    }
    step = "admin.sign_in_code" if two_factor.enrolled(editor) else "admin.two_factor"
    return redirect(url_for(step), 303)


def half_signed_in() -> tuple[Editor, str, str | None] | None:
    """The editor who gave their password in this session and has a step to go, with
    the account their attempts count under and where they were going; None if nobody,
    if it was too long ago, or if their password changed or they were disabled since."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or int(pending.get("until", 0)) < utcnow().timestamp():
        return None
    # Locked: two requests with the same code must not both see it unused.
    editor = _editor_named(str(pending.get("editor", "")), lock=True)
    if editor is None:
        return None
    return editor, str(pending["account"]), pending.get("next")


def throttled_words(refused: TooManyRequests) -> tuple[str, dict[str, str]]:
    """What a throttled sign-in step says, and its Retry-After header."""
    retry_after = refused.get_response().headers["Retry-After"]
    wait = limits.wait_in_words(int(retry_after))
    return f"Too many sign-in attempts. Try again in {wait}.", {"Retry-After": retry_after}


@bp.errorhandler(TooManyRequests)
def _sign_in_throttled(refused: TooManyRequests):
    """A throttled sign-in (the only 429 under /admin but the second step's, which shows
    its own form) as the sign-in form again: the address as typed, and how long to wait."""
    form = LoginForm()
    message, headers = throttled_words(refused)
    flash(message, "error")
    return render_template("admin/login.html", form=form), 429, headers


@bp.post("/logout")
@requires(Need.SIGNED_IN)
def logout():
    """Sign out everywhere: every session of the editor ends, and this one is emptied."""
    editor = db.session().get(Editor, current_user.id)
    if editor is not None:
        editors.end_sessions(db.session(), editor)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"), 303)


def safe_next(target: str | None) -> str:
    """Only a clean path inside /admin on this site: never an open redirect, and nothing
    (a control character, a space, non-ASCII) that could break the Location header."""
    text = target or ""
    path = urlsplit(text).path
    inside = text.startswith("/") and (path == "/admin" or path.startswith("/admin/"))
    unsafe = any(part in text for part in (" ", "\\", "//"))
    clean = text.isascii() and text.isprintable() and not unsafe
    return text if inside and clean else url_for("admin.dashboard")
