"""``/admin/editors``: an owner adds editors and sets each one's role and newsletters.

Every change is a POST with the session's CSRF token, on the audit trail; a change the
domain refuses (the last owner's demotion, an editor of no newsletter) is a 422 that
changes nothing. Disabling and passwords stay on the command line (``admins``).
"""

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from newsletter import db
from newsletter import editors
from newsletter import roles
from newsletter.access_models import Role
from newsletter.models import Editor
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.admin.forms import sentence
from newsletter.web.admin.owner_forms import NewEditorForm
from newsletter.web.admin.owner_forms import RoleForm
from newsletter.web.admin.owner_forms import every_slug
from newsletter.web.evidence import client_ip


@bp.get("/editors", endpoint="editors")
@requires(Need.OWNER)
def editors_page():
    """Every editor with their role and newsletters, a form each, and the new-editor form."""
    return _page(None)


@bp.post("/editors")
@requires(Need.OWNER)
def create_editor():
    """Add an editor with a first password (they change it with ``admins set-password``)."""
    form = NewEditorForm(every_slug(db.session()), prefix="new")
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        created = editors.create(
            db.session(),
            form.email.data,
            form.password.data,
            Role(form.role.data),
            form.newsletters.data or [],
            actor=who(),
            ip=client_ip(),
        )
    except editors.InvalidEditor as error:
        form.form_errors.append(sentence(str(error)))
        return _page(form, status=422)
    flash(f"Added {created.email} as {created.role}.", "success")
    return redirect(url_for("admin.editors"), 303)


@bp.post("/editors/<int:editor_id>/role")
@requires(Need.OWNER)
def change_role(editor_id: int):
    """Give an editor another role or other newsletters; it applies at their next request."""
    session = db.session()
    editor = session.get(Editor, editor_id)
    if editor is None:
        abort(404)
    form = RoleForm(every_slug(session), prefix=f"editor-{editor.id}")
    if not form.validate_on_submit():
        return _page(None, status=422, failed=(editor.id, form))
    try:
        roles.set_role(
            session,
            editor,
            Role(form.role.data),
            form.newsletters.data or [],
            actor=who(),
            ip=client_ip(),
        )
    except roles.InvalidRole as error:
        form.form_errors.append(sentence(str(error)))
        return _page(None, status=422, failed=(editor.id, form))
    flash(f"{editor.email} is now {editor.role}.", "success")
    return redirect(url_for("admin.editors"), 303)


def _page(new_form: NewEditorForm | None, status: int = 200, failed: tuple | None = None):
    """The editors page (``new_form`` None: a blank one); ``failed`` is (editor id, its
    form as sent), to show its errors."""
    session = db.session()
    slugs = every_slug(session)
    rows = []
    for editor in editors.all_editors(session):
        if failed and failed[0] == editor.id:
            form = failed[1]
        else:
            data = {
                "role": str(editor.role),
                "newsletters": roles.newsletter_slugs(session, editor),
            }
            form = RoleForm(slugs, prefix=f"editor-{editor.id}", data=data)
        rows.append((editor, form))
    new_form = new_form or NewEditorForm(slugs, prefix="new")
    return render_template("admin/editors.html", rows=rows, new_form=new_form), status
