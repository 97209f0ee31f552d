"""The second sign-in step, and enrolling in two-factor sign-in (:mod:`newsletter.two_factor`).

After the right password an enrolled editor is only half signed in (``auth.PENDING`` in
the session, for ten minutes): ``/admin/login/code`` asks for a code from their app or a
recovery code. With ``ADMIN_REQUIRE_2FA`` an editor who has no second factor is sent to
enrol instead, and is signed in once enrolled. A signed-in editor can enrol from
``/admin/two-factor`` at any time.

Every code typed, at either page, is a sign-in attempt for the throttle
(:func:`newsletter.web.limits.count_second_step`), counted before it is checked. Enrolment
begins with a POST (a GET never writes), which keeps a new secret for the editor; the page
then shows it as a QR code (an SVG made here: no image service, no script) and as text,
and a code made from it puts it in force and shows the ten recovery codes, once.
"""

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.exceptions import TooManyRequests
from wtforms import StringField
from wtforms.validators import DataRequired

from newsletter import db
from newsletter import two_factor
from newsletter.models import Editor
from newsletter.web import limits
from newsletter.web.admin import bp
from newsletter.web.admin.auth import SignedInEditor
from newsletter.web.admin.auth import account_key
from newsletter.web.admin.auth import half_signed_in
from newsletter.web.admin.auth import safe_next
from newsletter.web.admin.auth import sign_in_failed
from newsletter.web.admin.auth import sign_in_succeeded
from newsletter.web.admin.auth import throttled_words

WRONG_CODE = "That code is not right. Type the 6 digits your app shows now, or a recovery code."
SIGN_IN_AGAIN = "Sign in again: that sign-in was not finished in time."


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class BeginForm(FlaskForm):
    """Only the CSRF token: the button that starts an enrolment."""


@bp.route("/login/code", methods=["GET", "POST"])
def sign_in_code():
    """The second step: a code from the editor's app, or one of their recovery codes."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"), 303)
    pending = half_signed_in()
    if pending is None:
        flash(SIGN_IN_AGAIN, "error")
        return redirect(url_for("admin.login"), 303)
    editor, account, next_url = pending
    if not two_factor.enrolled(editor):
        return redirect(url_for("admin.two_factor"), 303)
    form = CodeForm()
    if not form.validate_on_submit():
        if form.errors:
            flash("Enter the code from your app.", "error")
        return render_template("admin/sign_in_code.html", form=form), 400 if form.errors else 200
    try:
        limits.count_second_step(account)
    except TooManyRequests as refused:
        return _throttled("admin/sign_in_code.html", refused, form=form)
    if not two_factor.verify(db.session(), editor, form.code.data.strip()):
        return sign_in_failed(account, "admin/sign_in_code.html", WRONG_CODE, form=form)
    sign_in_succeeded(editor, account)
    return redirect(safe_next(next_url), 303)


@bp.get("/two-factor", endpoint="two_factor")
def enrolment():
    """Where an editor stands: enrolled, enrolment begun (the QR code and the secret, and
    the code field), or not yet (the button that begins)."""
    editor, _, _ = _enrolling_editor() or (None, None, None)
    if editor is None:
        return redirect(url_for("admin.login"), 303)
    return _enrolment_page(editor, CodeForm())


@bp.post("/two-factor/begin")
def begin_two_factor():
    """Keep a new secret for the editor (not in force yet); the page then shows it."""
    editor, _, _ = _enrolling_editor() or (None, None, None)
    if editor is None:
        return redirect(url_for("admin.login"), 303)
    if BeginForm().validate_on_submit() and not two_factor.enrolled(editor):
        two_factor.begin(editor)
    return redirect(url_for("admin.two_factor"), 303)


@bp.post("/two-factor")
def confirm_two_factor():
    """A code made from the begun secret puts it in force; the recovery codes, once."""
    enrolling = _enrolling_editor()
    if enrolling is None:
        return redirect(url_for("admin.login"), 303)
    editor, account, next_url = enrolling
    form = CodeForm()
    if two_factor.enrolled(editor) or editor.totp_secret is None:
        return redirect(url_for("admin.two_factor"), 303)
    if not form.validate_on_submit():
        flash("Enter the code from your app.", "error")
        return _enrolment_page(editor, form), 400
    try:
        limits.count_second_step(account)
    except TooManyRequests as refused:
        return _throttled("admin/two_factor.html", refused, **_enrolment_context(editor, form))
    codes = two_factor.confirm(db.session(), editor, form.code.data.strip())
    if codes is None:
        return sign_in_failed(
            account, "admin/two_factor.html", WRONG_CODE, **_enrolment_context(editor, form)
        )
    if not current_user.is_authenticated:
        sign_in_succeeded(editor, account)  # the sign-in this enrolment was required for
    page = render_template("admin/recovery_codes.html", codes=codes, next_url=safe_next(next_url))
    return page, 200, {"Cache-Control": "no-store"}


def _enrolling_editor() -> tuple[Editor, str, str | None] | None:
    """The signed-in editor, or one half signed in who must enrol to finish signing in;
    with the account their codes count under and where they were going."""
    if isinstance(current_user._get_current_object(), SignedInEditor):
        editor = db.session().get(Editor, current_user.id)
        return (editor, account_key(editor.email), None) if editor is not None else None
    pending = half_signed_in()
    if pending is None or two_factor.enrolled(pending[0]):
        return None
    return pending


def _enrolment_page(editor: Editor, form: CodeForm):
    return render_template("admin/two_factor.html", **_enrolment_context(editor, form)), (
        400 if form.errors else 200
    )


def _enrolment_context(editor: Editor, form: CodeForm) -> dict:
    """What the enrolment page shows: the state, and while enrolling the secret and QR."""
    session = db.session()
    context: dict = {"editor": editor, "form": form, "begin_form": BeginForm()}
    if two_factor.enrolled(editor):
        context["recovery_left"] = two_factor.remaining_recovery_codes(session, editor)
    elif editor.totp_secret is not None:
        context["secret"] = " ".join(
            editor.totp_secret[start : start + 4] for start in range(0, len(editor.totp_secret), 4)
        )
        # Our own SVG, drawn by segno from the URI: no reader or editor text unescaped.
        context["qr_code"] = Markup(two_factor.qr_svg(two_factor.provisioning_uri(editor)))  # noqa: S704 # nosec B704
    return context


def _throttled(template: str, refused: TooManyRequests, **context):
    """A code refused unchecked: its form again, with how long to wait."""
    message, headers = throttled_words(refused)
    flash(message, "error")
    return render_template(template, **context), 429, headers
