"""The manage page, ``/manage/<token>``: a reader's newsletters, to join and to leave;
their data, to download or to erase ("Erase me", after a page that asks first).

Reached from every email after confirmation, from the unsubscribe result page and from
``/manage`` (:mod:`~newsletter.web.manage_link`). As with the links pages, a GET only
shows (mail scanners fetch links) and the page has no script; each POST acts and
redirects to the page with its result (post/redirect/get). The token in the URL is the
capability, so there is no session CSRF token (the page works without cookies).
"""

import logging

from flask import Blueprint
from flask import Response
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from newsletter import db
from newsletter import list_management
from newsletter import manage
from newsletter import reader_data
from newsletter.subscriptions import Evidence
from newsletter.web import erasing
from newsletter.web import evidence
from newsletter.web import security

log = logging.getLogger(__name__)

bp = Blueprint("manage", __name__)
bp.after_request(security.token_page)

# What a POST may ask, and the result message its redirect shows.
JOIN = "join"
LEAVE = "leave"
LEAVE_ALL = "leave_all"
RESULTS = (JOIN, LEAVE, LEAVE_ALL)
# "Download my data" saves my-newsletter-data.json or .csv.
DATA_FILE_NAME = "my-newsletter-data"


@bp.get("/manage/<token>")
def page(token: str):
    """Every newsletter on offer with the reader's status, and the last action's result."""
    session = db.session()
    reader = manage.reader_of(session, token)
    choices = manage.choices(session, reader)
    result = request.args.get("result")
    named = request.args.get("newsletter")
    return render_template(
        "manage/page.html",
        reader=reader,
        choices=choices,
        token=token,
        result=result if result in RESULTS else None,
        result_newsletter=next((c.newsletter for c in choices if c.newsletter.slug == named), None),
    )


@bp.post("/manage/<token>")
def act(token: str):
    """Join one newsletter, leave one, or leave all; then show the page again."""
    session = db.session()
    reader = manage.reader_of(session, token)
    action = request.form.get("action")
    slug = request.form.get("newsletter", "")
    clicked = _clicked()
    if action == JOIN:
        manage.join(session, reader, slug, clicked)
    elif action == LEAVE:
        manage.leave(session, reader, slug, clicked)
    elif action == LEAVE_ALL:
        manage.leave_all(session, reader, clicked)
        slug = ""
    else:
        abort(400)
    return redirect(
        url_for("manage.page", token=token, result=action, newsletter=slug or None), 303
    )


@bp.get("/manage/<token>/data.<any(json, csv):format>")
def data(token: str, format: str):  # noqa: A002 (the URL's word)
    """ "Download my data": everything kept about the reader, and only about them."""
    session = db.session()
    report = reader_data.report(session, manage.reader_of(session, token))
    if format == "json":
        body, mimetype = reader_data.as_json(report), "application/json"
    else:
        body, mimetype = reader_data.as_csv(report), "text/csv"
    disposition = f'attachment; filename="{DATA_FILE_NAME}.{format}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/manage/<token>/erase")
def confirm_erase(token: str):
    """The step before "Erase me": what will be deleted, and the button (a GET changes
    nothing: mail scanners open links)."""
    session = db.session()
    reader = manage.reader_of(session, token)
    return render_template(
        "manage/erase.html",
        reader=reader,
        token=token,
        subscriptions=list_management.reader_subscriptions(session, reader),
    )


@bp.post("/manage/<token>/erase")
def erase(token: str):
    """ "Erase me": the editors' erasure, by the reader's own hand, and an email saying so."""
    session = db.session()
    reader = manage.reader_of(session, token)
    address = reader.email
    manage.erase(session, reader)
    erasing.forget_copies_after_commit(address)
    log.info("A reader erased their own data from their manage page")  # without the address
    return redirect(url_for("manage.erased"), 303)


@bp.get("/manage/erased")
def erased():
    """Where "Erase me" ends: the link that led here works no more."""
    return render_template("manage/erased.html")


def _clicked() -> Evidence:
    """Who used the manage link: the evidence of a join or a leave (never the token)."""
    return evidence.from_request(manage.SOURCE, source_url="")
