"""``/admin/``: each newsletter's subscribers by status and by day, and the worker's queues.

Each editor sees the newsletters their role covers (an owner: all of them), and the links
their role lets them follow."""

from datetime import datetime
from datetime import timedelta

from flask import render_template

from newsletter import db
from newsletter import list_management
from newsletter import signup_requests
from newsletter.db.types import utcnow
from newsletter.mail import outbox
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin import chart
from newsletter.web.admin.access import current_access
from newsletter.web.admin.access import requires

CHART_DAYS = 30


@bp.get("/")
@requires(Need.SIGNED_IN)
def dashboard():
    """The editor's overview: counts, a chart per newsletter, and whether mail goes out."""
    session = db.session()
    queue = outbox.health(session)
    access = current_access()
    listed = access.newsletters(session, Need.VIEW)
    counts = {newsletter.id: list_management.counts(session, newsletter) for newsletter in listed}
    activity = {
        newsletter.id: list_management.daily_activity(session, newsletter, CHART_DAYS)
        for newsletter in listed
    }
    charts = {
        newsletter.id: chart.render(
            activity[newsletter.id],
            chart_id=f"chart-{newsletter.slug}",
            title=f"Signups and confirmations per day, last {CHART_DAYS} days",
        )
        for newsletter in listed
    }
    return render_template(
        "admin/dashboard.html",
        newsletters=listed,
        counts=counts,
        activity=activity,
        charts=charts,
        chart_days=CHART_DAYS,
        queue=queue,
        access=access,
        needs=Need,
        readers=list_management.readers_count(session) if access.may(Need.OWNER) else None,
        signups_waiting=signup_requests.waiting(session),
        oldest_age=age(queue.oldest_queued_at) if queue.oldest_queued_at else None,
    )


def age(since: datetime, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "45 seconds", "3 hours", "2 days"."""
    elapsed = max((now or utcnow()) - since, timedelta())
    seconds = int(elapsed.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
