"""Start-up: from launching ``newsletter serve`` on a fresh instance to the first 200.

A fresh instance folder each time (and, on PostgreSQL, a fresh empty database), so the
figure includes what a first start does: migrate, seed the first newsletter, start the
mail thread, open the socket.
"""

import subprocess
import time
from pathlib import Path

from benchmarks import progress
from benchmarks.instance import outside_environment
from benchmarks.scale import Scale
from benchmarks.servers import BIN
from benchmarks.servers import ROOT
from benchmarks.servers import free_port
from benchmarks.servers import wait_for_http
from benchmarks.stats import Row


def measure(backend, scale: Scale, folder: Path) -> Row:
    """Seconds to the first 200 from ``/healthz``, ``scale.repeats`` times."""
    seconds = []
    for repeat in range(scale.repeats):
        instance = folder / f"startup-{repeat}"
        environment = outside_environment()
        environment["NEWSLETTER_INSTANCE_PATH"] = str(instance)
        if backend.name != "SQLite":
            environment["NEWSLETTER_DATABASE_URL"] = backend.new_database(f"startup{repeat}")
        port = free_port()
        instance.mkdir(parents=True)
        with (instance / "serve.log").open("w") as log:
            started = time.monotonic()
            process = subprocess.Popen(
                [str(BIN / "newsletter"), "serve", "--port", str(port)],
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
            seconds.append(time.monotonic() - started)
        finally:
            process.terminate()
            process.wait(timeout=10)
    progress.say("start-up: " + ", ".join(f"{value:.2f} s" for value in seconds))
    default = "default SQLite file" if backend.name == "SQLite" else "empty database"
    return Row(
        f"Start-up: `newsletter serve` to the first 200 from /healthz (fresh folder, {default})",
        "s",
        seconds,
    )
