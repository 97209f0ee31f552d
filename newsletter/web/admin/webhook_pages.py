"""``/admin/newsletters/<slug>/webhooks``: a newsletter's outgoing webhooks: add, test,
disable or enable, remove, and each endpoint's delivery log.

The signing secret of a new endpoint is shown once, on the page that answers the POST
that made it: not through a flashed message, which would put it in the session cookie.
"""

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from newsletter import db
from newsletter.models import Newsletter
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.evidence import client_ip
from newsletter.webhooks import endpoints
from newsletter.webhooks import events
from newsletter.webhooks.models import WebhookEndpoint

URL_FIELD_LENGTH = 2048


@bp.get("/newsletters/<slug>/webhooks")
@requires(Need.EDIT)
def webhooks(newsletter: Newsletter):
    """The endpoints, their state and delivery log, and the form to add one."""
    return _page(newsletter)


@bp.post("/newsletters/<slug>/webhooks")
@requires(Need.EDIT)
def add_webhook(newsletter: Newsletter):
    """Register a URL; the answer shows its secret, once."""
    url = request.form.get("url", "")
    allow_loopback = current_app.config["WEBHOOK_ALLOW_LOOPBACK"]
    try:
        added = endpoints.add(
            db.session(),
            newsletter,
            url,
            allow_loopback=allow_loopback,
            actor=who(),
            ip=client_ip(),
        )
    except endpoints.InvalidWebhookUrl as error:
        # Shown again as typed, up to what the field holds; checked whole above.
        return _page(newsletter, url=url[:URL_FIELD_LENGTH], error=str(error)), 422
    return _page(newsletter, added=added), 201


@bp.post("/newsletters/<slug>/webhooks/<int:endpoint_id>/<action>")
@requires(Need.EDIT)
def webhook_action(newsletter: Newsletter, endpoint_id: int, action: str):
    """Test, disable, enable or remove one endpoint; back to the page with what happened."""
    endpoint = endpoints.get(db.session(), newsletter, endpoint_id)
    if endpoint is None or action not in ACTIONS:
        abort(404)
    flash(ACTIONS[action](endpoint), "success")
    return redirect(url_for("admin.webhooks", slug=newsletter.slug), 303)


def _test(endpoint: WebhookEndpoint) -> str:
    events.queue_test(db.session(), endpoint)
    return "A test event was queued; the worker sends it within seconds. Reload to see it."


def _disable(endpoint: WebhookEndpoint) -> str:
    endpoints.disable(db.session(), endpoint, actor=who(), ip=client_ip())
    return "Disabled. Events wait for it until it is enabled."


def _enable(endpoint: WebhookEndpoint) -> str:
    endpoints.enable(db.session(), endpoint, actor=who(), ip=client_ip())
    return "Enabled. It gets the events it missed first."


def _remove(endpoint: WebhookEndpoint) -> str:
    endpoints.remove(db.session(), endpoint, actor=who(), ip=client_ip())
    return "Removed, with its waiting events and its log."


ACTIONS = {"test": _test, "disable": _disable, "enable": _enable, "remove": _remove}


def _page(
    newsletter: Newsletter,
    *,
    added: WebhookEndpoint | None = None,
    url: str = "",
    error: str | None = None,
) -> str:
    session = db.session()
    listed = [
        (endpoint, endpoints.waiting(session, endpoint), endpoints.log(session, endpoint))
        for endpoint in endpoints.of_newsletter(session, newsletter)
    ]
    return render_template(
        "admin/webhooks.html",
        newsletter=newsletter,
        listed=listed,
        added=added,
        url=url,
        error=error,
        event_types=[*events.EVENT_TYPES.values(), events.ERASED],
    )
