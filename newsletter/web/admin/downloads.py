"""``GET /admin/newsletters/<slug>/subscribers.csv`` and ``GET /admin/subscribers.csv``
(every newsletter): the export, for people and scripts."""

import logging

from flask import Response
from flask import request

from newsletter import csv_export
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Newsletter
from newsletter.models import SubscriptionStatus
from newsletter.web.admin import bp
from newsletter.web.admin.auth import who

log = logging.getLogger(__name__)


@bp.get("/newsletters/<slug>/subscribers.csv")
def export_csv(newsletter: Newsletter):
    """Stream one newsletter's CSV; ``?status=confirmed`` (or pending, unsubscribed)
    filters it."""
    return _download(newsletter, newsletter.slug)


@bp.get("/subscribers.csv")
def export_all_csv():
    """Stream every newsletter's subscriptions in one CSV, filtered as above."""
    return _download(None, "all-newsletters")


def _download(newsletter: Newsletter | None, name: str) -> Response:
    """The CSV of ``newsletter`` (None: all of them) as an attachment named after ``name``."""
    wanted = SubscriptionStatus.parse_filter(request.args.get("status"))
    covers = wanted or "all"
    # Exports copy readers' addresses out of the system: each one is on the record.
    log.info("Export of %s (%s) by %s", name, covers, who())
    filename = f"{name}-{covers}-{utcnow():%Y-%m-%d}.csv"
    chunks = csv_export.stream_csv(database().engine, newsletter, wanted)
    return Response(
        chunks,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
