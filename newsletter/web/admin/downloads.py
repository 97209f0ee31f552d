"""``GET /admin/newsletters/<slug>/subscribers.csv``: the export, for people and scripts."""

import logging

from flask import Response
from flask import abort
from flask import request

from newsletter import csv_export
from newsletter import db
from newsletter import newsletters
from newsletter.db import database
from newsletter.db import utcnow
from newsletter.models import SubscriptionStatus
from newsletter.web.admin import bp
from newsletter.web.admin.auth import who

log = logging.getLogger(__name__)


@bp.get("/newsletters/<slug>/subscribers.csv")
def export_csv(slug: str):
    """Stream the CSV; ``?status=confirmed`` (or pending, unsubscribed) filters it."""
    newsletter = newsletters.get_by_slug(db.session(), slug)
    if newsletter is None:
        abort(404)
    status = request.args.get("status") or None
    if status is not None and status not in {member.value for member in SubscriptionStatus}:
        abort(400)
    wanted = SubscriptionStatus(status) if status else None
    # Exports copy readers' addresses out of the system: each one is on the record.
    log.info("Export of %s (%s) by %s", slug, status or "all", who())
    filename = f"{slug}-{status or 'all'}-{utcnow():%Y-%m-%d}.csv"
    chunks = csv_export.stream_csv(database().engine, newsletter, wanted)
    return Response(
        chunks,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
