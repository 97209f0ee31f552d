"""The whole run: every measurement on SQLite, then on PostgreSQL if configured.

``NEWSLETTER_BENCH_POSTGRES_URL`` names a PostgreSQL server (any database on it, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``): fresh ``bench_*`` databases
are created there and dropped at the end. ``BENCH_SCALE=small`` makes a quick run;
``BENCH_RESULTS=FILE`` writes the report there instead of ``benchmarks/RESULTS.md``.
"""

import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

from benchmarks import backends
from benchmarks import exports
from benchmarks import imports
from benchmarks import machine
from benchmarks import mail
from benchmarks import progress
from benchmarks import report
from benchmarks import signup_timing
from benchmarks import startup
from benchmarks import web_load
from benchmarks.instance import Instance
from benchmarks.scale import Scale
from benchmarks.scale import from_environment
from benchmarks.servers import WORKER_MODELS
from benchmarks.servers import SmtpSink
from benchmarks.servers import serving

RESULTS = Path(__file__).parent / "RESULTS.md"
# Where the report goes instead (CI's smoke run keeps the committed one intact).
RESULTS_VARIABLE = "BENCH_RESULTS"
POSTGRES_VARIABLE = "NEWSLETTER_BENCH_POSTGRES_URL"


def main() -> None:
    """Run everything, write RESULTS.md, and say where it is."""
    scale = from_environment()
    postgres_url = os.environ.get(POSTGRES_VARIABLE) or None
    facts = machine.facts()
    progress.say(f"scale {scale.name}; PostgreSQL: {'yes' if postgres_url else 'no'}")
    sections = []
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as temporary:
        folder = Path(temporary)
        with SmtpSink(folder / "smtp-sink.log") as sink:
            for backend in backends.each(folder, postgres_url):
                sections.append(run_backend(backend, scale, sink, folder / backend.name))
    results = Path(os.environ.get(RESULTS_VARIABLE) or RESULTS)
    report.write(
        results,
        facts=facts,
        sections=sections,
        command=_command(scale, postgres_url),
        scale=scale.name,
        seconds=progress.elapsed(),
    )
    progress.say(f"done: {results}")


def run_backend(backend, scale: Scale, sink: SmtpSink, folder: Path) -> report.Section:
    """All eight measurements on one backend."""
    progress.say(f"{backend.name}: preparing")
    logs = folder / "logs"
    logs.mkdir(parents=True)
    version = backend.version()
    slug = web_load.SLUG
    # A newsletter with the scale's existing subscriptions: exported, then signed up to.
    scaled = Instance(folder / "scaled", backend.new_database("scaled"), sink.url)
    scaled_id = scaled.prepare(slug)
    started = time.monotonic()
    scaled.insert_subscriptions(scaled_id, scale.existing_rows, "existing")
    inserted_in = time.monotonic() - started
    progress.say(f"{backend.name}: {scale.existing_rows:,} rows inserted in {inserted_in:.1f} s")
    empty = Instance(folder / "empty", backend.new_database("empty"), sink.url)
    empty.prepare(slug)
    for other in web_load.OTHER_SLUGS:
        empty.command("newsletters", "create", "--slug", other, "--name", f"Benchmark {other}")

    models = WORKER_MODELS if scale.trial_duration else WORKER_MODELS[:1]
    fleets = [web_load.Fleet(model, empty, scaled, logs) for model in models]
    with serving(*(server for fleet in fleets for server in fleet.servers)):
        progress.say(f"{backend.name}: servers up")
        trial = web_load.trial(fleets, scale)
        model = trial.chosen
        for fleet in fleets:
            if fleet.model is not model:
                fleet.stop()
        (chosen,) = (fleet for fleet in fleets if fleet.model is model)
        export = exports.measure(scaled, backend, scaled_id, scale, model, logs)
        pools = web_load.confirm_pools(empty, scale, trial.bare_rate)
        load_rows, load_notes = web_load.measure(chosen, scale, pools)
    progress.say(f"{backend.name}: servers stopped")
    export_rows, export_notes = export
    others = ", ".join(other.description for other in WORKER_MODELS if other is not model)
    why = (
        f"kept because it served at least as many signups per second at "
        f"c={max(scale.concurrencies)} as {others} in this run's trial (rows at the end; a "
        "tie keeps gthread)"
        if trial.rows
        else "the production choice; this scale runs no worker-model trial"
    )
    section = report.Section(backend.name, version, f"**{model.description}**, {why}")
    mail_rows, mail_notes = mail.measure(backend, scale, sink, folder)
    timing_rows, timing_notes = signup_timing.measure(backend, scale, sink, folder)
    import_rows, import_notes = imports.measure(backend, scale, folder)
    section.rows = [
        *load_rows,
        *export_rows,
        *import_rows,
        *mail_rows,
        *timing_rows,
        startup.measure(backend, scale, folder),
        *trial.rows,
    ]
    section.notes = [
        f"Existing rows: {scale.existing_rows:,} subscriptions bulk-inserted into the scale "
        f"newsletter in {inserted_in:.1f} s.",
        *load_notes,
        *export_notes,
        *import_notes,
        *mail_notes,
        *timing_notes,
    ]
    for instance in (scaled, empty):
        instance.dispose()
    return section


def _command(scale: Scale, postgres_url: str | None) -> str:
    """The command line that reproduces this run (without a password)."""
    words = [f"BENCH_SCALE={scale.name}"]
    if postgres_url:
        words.append(f"{POSTGRES_VARIABLE}={make_url(postgres_url).render_as_string()}")
    return " ".join([*words, "make bench"])
