"""Running the product: serve, migrate, apply signups, deliver mail, run uploaded imports."""

import ipaddress
import logging
import signal
import threading
from urllib.parse import urlsplit

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from newsletter import newsletters
from newsletter.db import database
from newsletter.import_worker import ImportRunner
from newsletter.import_worker import start_background_importer
from newsletter.mail.worker import Worker
from newsletter.mail.worker import start_background_sender

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, help="Request threads.")
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Run the whole product: migrate, seed a first newsletter, apply signups, send, serve."""
    _log_to_stderr()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    local_origins: tuple[str, ...] = ()
    if app.config["PUBLIC_URL_IS_DEFAULT"]:
        # Links in emails must reach this server when no public URL was configured.
        link_host = "127.0.0.1" if _all_interfaces(host) else host
        app.config["PUBLIC_URL"] = f"http://{link_host}:{port}"
        # localhost is another origin than 127.0.0.1: the demo article embeds from there.
        local_origins = (f"http://localhost:{port}",)
    # Imported by the commands that need them: Alembic (with Mako and Pygments) and
    # waitress are a tenth of a second of every other command's start (worker, export).
    import waitress

    from newsletter import migrations

    migrations.upgrade(app.config["DATABASE_URL"])
    with database(app).transaction() as session:
        seeded = newsletters.seed_default(session, allowed_origins=local_origins)
    if seeded is not None:
        log.info("Created the newsletter %r (/newsletters/%s)", seeded.name, seeded.slug)
    if app.config["DEMO"]:
        log.info("Demo article embedding the form: http://localhost:%s/demo/article", port)
    stop_sender = start_background_sender(app)
    stop_importer = start_background_importer(app)
    log.info("Serving on http://%s:%s/ (mail: %s)", host, port, _mail_description(app))
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident=None)
    finally:
        stop_sender.set()
        stop_importer.set()


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply the schema migrations (safe to run again)."""
    from newsletter import migrations  # see serve

    migrations.upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command()
@click.option(
    "--once", is_flag=True, help="Apply recorded signups and deliver what is due, then exit."
)
@with_appcontext
def worker(once: bool) -> None:
    """Apply recorded signups, deliver queued mail and run the imports uploaded in the
    admin; run as many as you like on PostgreSQL."""
    _log_to_stderr()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mail_worker = Worker.for_app(app)
    if once:
        imported = ImportRunner.for_app(app).drain()
        if imported:
            click.echo(f"Ran {imported} import(s).")
        click.echo(f"Tried {mail_worker.drain()} message(s).")
        return
    stop = threading.Event()
    # SIGTERM lets the batch in hand finish, so no claimed message is left behind. An
    # import cut off half-way is run again by a worker once its claim runs out.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop_importer = start_background_importer(app)
    log.info("Delivering mail (%s); stop with Ctrl-C or SIGTERM", _mail_description(app))
    try:
        mail_worker.run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        stop_importer.set()


def _all_interfaces(host: str) -> bool:
    """Whether ``host`` means every interface (0.0.0.0, ::), which no link can point at."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _mail_description(app: Flask) -> str:
    """Where mail goes, without the password."""
    url = app.config["MAIL_URL"]
    if not url:
        return f"written to {app.instance_path}/mail"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 'default port'}"


def _log_to_stderr() -> None:
    """Long-running commands log at INFO, with times, to standard error."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
