"""``/admin/tokens``: an owner makes API tokens for scripts, sees their use, revokes them.

A new token's secret is on the answer to the form that made it, once (``no-store``):
only its SHA-256 is kept. Every change is on the audit trail.
"""

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from newsletter import api_tokens
from newsletter import db
from newsletter.db.types import utcnow
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.admin.forms import sentence
from newsletter.web.admin.owner_forms import NewTokenForm
from newsletter.web.admin.owner_forms import every_slug
from newsletter.web.evidence import client_ip


@bp.get("/tokens", endpoint="tokens")
@requires(Need.OWNER)
def tokens_page():
    """Every token: its newsletters, expiry, last use, state; and the new-token form."""
    return _page(NewTokenForm(every_slug(db.session())))


@bp.post("/tokens")
@requires(Need.OWNER)
def create_token():
    """Make a token and show its secret this once."""
    form = NewTokenForm(every_slug(db.session()))
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        secret, token = api_tokens.create(
            db.session(),
            form.name.data,
            form.newsletters.data or [],
            form.days.data,
            actor=who(),
            ip=client_ip(),
        )
    except api_tokens.InvalidToken as error:
        form.form_errors.append(sentence(str(error)))
        return _page(form, status=422)
    page, status = _page(
        NewTokenForm(every_slug(db.session()), formdata=None), secret=secret, made=token.id
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@requires(Need.OWNER)
def revoke_token(token_id: int):
    """Revoke a token for good."""
    token = api_tokens.revoke(db.session(), token_id, actor=who(), ip=client_ip())
    if token is None:
        abort(404)
    flash(f"Revoked token {token.id} ({token.name}).", "success")
    return redirect(url_for("admin.tokens"), 303)


def _page(form: NewTokenForm, status: int = 200, secret: str | None = None, made: int = 0):
    """The tokens page, with a new token's secret when one was just made."""
    session = db.session()
    page = render_template(
        "admin/tokens.html",
        tokens=api_tokens.all_tokens(session),
        scopes=api_tokens.scope_slugs(session),
        form=form,
        secret=secret,
        made=made,
        now=utcnow(),
    )
    return page, status
