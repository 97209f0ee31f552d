"""Signing editors in and out, and keeping everyone else out of ``/admin``."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import g
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
from newsletter import db
from newsletter import editors
from newsletter.models import Editor
from newsletter.web import limits
from newsletter.web.admin import bp
from newsletter.web.errors import wants_json

# Endpoints scripts may call with an API token instead of a session.
TOKEN_ENDPOINTS = {"admin.export_csv"}
OPEN_ENDPOINTS = {"admin.login"}
LOGIN_SCOPE = "admin-login"


@dataclass
class SignedInEditor(UserMixin):
    """The editor in the session (not the ORM row: the session outlives the request's)."""

    id: int
    email: str


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


login_manager = LoginManager()
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_editor(editor_id: str) -> SignedInEditor | None:
    """The editor a session names, if the account still exists."""
    editor = db.session().get(Editor, int(editor_id)) if editor_id.isdigit() else None
    return SignedInEditor(editor.id, editor.email) if editor else None


def init_app(app: Flask) -> None:
    """Attach Flask-Login to the app."""
    login_manager.init_app(app)


def who() -> str:
    """Who is acting, for logs and the history: the editor's address or the token's name."""
    if current_user.is_authenticated:
        return current_user.email
    return f"token {g.api_token}" if "api_token" in g else "nobody"


@bp.before_request
def _require_editor():
    """Let signed-in editors through (and tokens, where allowed); turn the rest away."""
    if request.endpoint in OPEN_ENDPOINTS or current_user.is_authenticated:
        return None
    authorization = request.headers.get("Authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        token = None
        if scheme.lower() == "bearer" and request.endpoint in TOKEN_ENDPOINTS:
            token = api_tokens.authenticate(db.session(), secret.strip())
        if token is None:
            abort(401)
        db.session().commit()  # the token's last use
        g.api_token = token.name
        return None
    if wants_json():
        abort(401)
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; failures are throttled per account and per network."""
    form = LoginForm()
    if form.validate_on_submit():
        limit = current_app.config["LOGIN_RATE_LIMIT"]
        # Guessing is throttled for the account (from anywhere) and for the network.
        keys = (addresses.key(form.email.data.strip()[:320]), limits.client_network())
        if not all(limits.allows(LOGIN_SCOPE, key, limit) for key in keys):
            raise TooManyRequests(retry_after=limits.window_seconds(limit))
        editor = editors.authenticate(db.session(), form.email.data, form.password.data)
        if editor is None:
            for key in keys:
                limits.hit(LOGIN_SCOPE, key, limit)
            flash("That address and password do not match.", "error")
            return render_template("admin/login.html", form=form), 401
        db.session().commit()
        session.clear()  # a fresh session at sign-in: nothing from before carries over
        login_user(SignedInEditor(editor.id, editor.email))
        return redirect(_safe_next(request.args.get("next")), 303)
    return render_template("admin/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    """Sign out: the session is emptied, not only the editor's id."""
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"), 303)


def _safe_next(target: str | None) -> str:
    """Only a clean path inside /admin on this site: never an open redirect, and nothing
    (a control character, a space, non-ASCII) that could break the Location header."""
    text = target or ""
    path = urlsplit(text).path
    inside = text.startswith("/") and (path == "/admin" or path.startswith("/admin/"))
    unsafe = any(part in text for part in (" ", "\\", "//"))
    clean = text.isascii() and text.isprintable() and not unsafe
    return text if inside and clean else url_for("admin.dashboard")
