"""``/admin/``: each newsletter's subscribers by status."""

from flask import render_template

from newsletter import db
from newsletter import newsletters
from newsletter import subscribers
from newsletter.web.admin import bp


@bp.get("/")
def dashboard():
    """The editor's overview."""
    session = db.session()
    listed = newsletters.all_newsletters(session)
    counts = {newsletter.id: subscribers.counts(session, newsletter) for newsletter in listed}
    return render_template("admin/dashboard.html", newsletters=listed, counts=counts)
