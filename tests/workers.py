"""``newsletter worker --once`` as separate processes, several at once on the app's database."""

import os
import subprocess
import sys
from pathlib import Path

NEWSLETTER = Path(sys.executable).with_name("newsletter")
WORKER_TIMEOUT_SECONDS = 120


def worker_environment(app, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of a worker process configured as ``app`` (plus ``NEWSLETTER_*``
    ``settings``), with its own instance folder."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")
    }
    environment.update(
        NEWSLETTER_DATABASE_URL=app.config["DATABASE_URL"],
        NEWSLETTER_MAIL_URL=app.config["MAIL_URL"],
        NEWSLETTER_SECRET_KEY=app.config["SECRET_KEY"],
        NEWSLETTER_INSTANCE_PATH=str(instance),
        NEWSLETTER_PUBLIC_URL=app.config["PUBLIC_URL"],
    )
    environment.update({f"NEWSLETTER_{name}": value for name, value in settings.items()})
    return environment


def run_workers(app, instance: Path, count: int = 2, **settings: str) -> list[str]:
    """Start ``count`` workers together, configured as ``app`` (plus ``NEWSLETTER_*``
    ``settings``); wait for them all to succeed and return their standard outputs."""
    environment = worker_environment(app, instance, **settings)
    workers = [
        subprocess.Popen(
            [str(NEWSLETTER), "worker", "--once"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=WORKER_TIMEOUT_SECONDS)
        assert worker.returncode == 0, err
        outputs.append(out)
    return outputs
