"""What machines ask of any web server: ``GET /healthz`` for probes, ``/favicon.ico``."""

import logging

from flask import Blueprint
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from newsletter.db import database

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """A load balancer's probe: one round trip to the database."""
    try:
        with database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("Health check: database unavailable: %s", type(error).__name__)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for it whatever the page links; answer, don't 404."""
    return current_app.send_static_file("favicon.ico")
