"""``/admin/audit``: the owner reads the audit trail, newest first, filtered by who, what
and since when, a page at a time."""

from flask import render_template
from flask import request

from newsletter import audit
from newsletter import db
from newsletter.access_models import AuditAction
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.owner_forms import audit_filters


@bp.get("/audit", endpoint="audit_trail")
@requires(Need.OWNER)
def audit_trail():
    """The entries that match ``?actor=``, ``?action=`` and ``?since=YYYY-MM-DD``."""
    filters = audit_filters(request.args)
    shown = audit.entries(db.session(), **filters)
    older = shown[-1].id if len(shown) == audit.PAGE_SIZE else None
    return render_template(
        "admin/audit.html",
        entries=shown,
        filters=filters,
        since=request.args.get("since", ""),
        actions=list(AuditAction),
        older=older,
    )
