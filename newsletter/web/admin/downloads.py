"""``GET /admin/newsletters/<slug>/subscribers.csv`` and ``GET /admin/subscribers.csv``:
the export, for people and scripts.

Every newsletter's file holds the newsletters the caller edits (an owner's, or a token
made for every newsletter: all of them). Each export is on the audit trail before a row
leaves (``newsletter.exports``), and in the log.
"""

import logging

from flask import Response
from flask import request

from newsletter import csv_export
from newsletter import exports
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Newsletter
from newsletter.models import SubscriptionStatus
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import current_access
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.evidence import client_ip

log = logging.getLogger(__name__)


@bp.get("/newsletters/<slug>/subscribers.csv")
@requires(Need.EDIT)
def export_csv(newsletter: Newsletter):
    """Stream one newsletter's CSV; ``?status=confirmed`` (or pending, unsubscribed)
    filters it."""
    return _download(newsletter, newsletter.slug)


@bp.get("/subscribers.csv")
@requires(Need.EDIT_SOME)
def export_all_csv():
    """Stream the subscriptions to every newsletter the caller edits in one CSV, filtered
    as above."""
    return _download(None, "all-newsletters")


def _download(newsletter: Newsletter | None, name: str) -> Response:
    """The CSV of ``newsletter`` (None: all the caller edits) as an attachment named after
    ``name``."""
    wanted = SubscriptionStatus.parse_filter(request.args.get("status"))
    covers = wanted or "all"
    log.info("Export of %s (%s) by %s", name, covers, who())
    # On the record in a transaction of its own: the request only reads.
    with database().transaction() as session:
        planned = exports.record(session, who(), current_access(), newsletter, wanted, client_ip())
    filename = f"{name}-{covers}-{utcnow():%Y-%m-%d}.csv"
    chunks = csv_export.stream_csv(database().engine, newsletter, wanted, only=planned.only)
    return Response(
        chunks,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
