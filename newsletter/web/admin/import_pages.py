"""``/admin/newsletters/<slug>/import``: upload a list to import, then follow the job.

The upload is only stored (``import_jobs.store``, a chunk at a time): a worker runs the
import, as ``newsletter import`` would, and the job's page shows its progress, polling
``….json`` from ``static/import-progress.js`` (a meta refresh without script), then its
report. The upload's size is capped by ``IMPORT_MAX_UPLOAD_BYTES`` (``newsletter.web.
bodies`` raises the cap for this route alone); a larger one gets 413 and what to do.
"""

import os

from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from newsletter import db
from newsletter import import_jobs
from newsletter.import_jobs import ImportJob
from newsletter.models import Newsletter
from newsletter.models import OutboxStatus
from newsletter.roles import Need
from newsletter.web.admin import bp
from newsletter.web.admin.access import requires
from newsletter.web.admin.auth import who
from newsletter.web.admin.forms import ImportForm
from newsletter.web.errors import http_error

# The jobs listed under the form, newest first.
RECENT_JOBS = 10
STATES = {
    OutboxStatus.QUEUED: "waiting for a worker",
    OutboxStatus.SENDING: "running",
    OutboxStatus.SENT: "done",
    OutboxStatus.FAILED: "stopped",
}
MEGABYTE = 1000 * 1000


@bp.get("/newsletters/<slug>/import")
@requires(Need.EDIT)
def import_form(newsletter: Newsletter):
    """The upload form, and the newsletter's recent imports."""
    return _form_page(newsletter, ImportForm())


@bp.post("/newsletters/<slug>/import")
@requires(Need.EDIT)
def start_import(newsletter: Newsletter):
    """Store the upload as a job for a worker; on to the job's page."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _form_page(newsletter, form), 422
    upload = form.file.data
    job = import_jobs.store(
        db.session(),
        newsletter,
        upload.stream,
        file_name=os.path.basename(upload.filename or "upload.csv")[: import_jobs.FILE_NAME_LENGTH],
        created_by=who(),
        dry_run=form.dry_run.data,
        email_column=form.email_column.data or None,
        status_column=form.status_column.data or None,
        status_map=form.status_map.data or None,
        language=form.language.data or None,
    )
    return redirect(url_for("admin.import_job", slug=newsletter.slug, job_id=job.id), 303)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """An upload over the cap: what the cap is, and what to do; other admin forms get the
    usual error page. Raised before the sign-in check (the CSRF check reads the body
    first), so the page shows nothing of the newsletter."""
    if request.endpoint != "admin.start_import":
        return http_error(error)
    limit = current_app.config["IMPORT_MAX_UPLOAD_BYTES"]
    message = (
        f"The file is larger than the {_megabytes(limit)} an import may be. Split it into "
        "smaller files, or ask whoever runs this service to raise "
        "NEWSLETTER_IMPORT_MAX_UPLOAD_BYTES."
    )
    return render_template("admin/too_large.html", message=message), 413


@bp.get("/newsletters/<slug>/imports/<int:job_id>")
@requires(Need.EDIT)
def import_job(newsletter: Newsletter, job_id: int):
    """The job's progress while it runs, its report or why it stopped when it ends."""
    job = _job(newsletter, job_id)
    return render_template(
        "admin/import_job.html",
        newsletter=newsletter,
        job=job,
        progress=progress(job),
        report=job.finished_report(),
    )


@bp.get("/newsletters/<slug>/imports/<int:job_id>.json")
@requires(Need.EDIT)
def import_progress(newsletter: Newsletter, job_id: int):
    """The job's progress, for the page's script to show without a reload."""
    return progress(_job(newsletter, job_id))


def progress(job: ImportJob) -> dict:
    """Where a job is: its state, bytes read of all (when it is measured), and the same in
    words."""
    ended = job.status in (OutboxStatus.SENT, OutboxStatus.FAILED)
    done = job.total_bytes if ended else job.done_bytes
    percent = round(100 * done / job.total_bytes) if job.total_bytes else 0
    words = f"{STATES[job.status].capitalize()}: {_megabytes(done)} of "
    words += f"{_megabytes(job.total_bytes)} read ({percent}%)."
    # A dry run writes no progress (newsletter.import_worker), nor has a waiting job any.
    measured = ended or (job.status is OutboxStatus.SENDING and not job.dry_run)
    if not measured and job.status is OutboxStatus.SENDING:
        words = "Running a dry run: its report shows when it ends."
    return {
        "state": STATES[job.status],
        "ended": ended,
        "measured": measured,
        "done_bytes": done,
        "total_bytes": job.total_bytes,
        "percent": percent,
        "text": words,
    }


def _job(newsletter: Newsletter, job_id: int) -> ImportJob:
    job = import_jobs.get(db.session(), newsletter, job_id)
    if job is None:
        abort(404)
    return job


def _megabytes(size: int) -> str:
    """A size in MB, or in kB below one MB."""
    if size < MEGABYTE:
        return f"{size / 1000:.0f} kB"
    return f"{size / MEGABYTE:.1f} MB"


def _form_page(newsletter: Newsletter, form: ImportForm) -> str:
    recent = db.session().scalars(
        select(ImportJob)
        .where(ImportJob.newsletter_id == newsletter.id)
        .order_by(ImportJob.id.desc())
        .limit(RECENT_JOBS)
    )
    return render_template(
        "admin/import_form.html",
        newsletter=newsletter,
        form=form,
        recent=list(recent),
        states=STATES,
        limit=_megabytes(current_app.config["IMPORT_MAX_UPLOAD_BYTES"]),
    )
