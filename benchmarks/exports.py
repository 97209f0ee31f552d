"""Export of a large list: the CLI and the HTTP download against the database's own dump.

Seconds are wall-clock time until the last byte is in the file. Peak memory is the
``VmHWM`` of the ``newsletter export`` process, and that of the one gunicorn worker that
streamed the download (a fresh server for each download, so its peak belongs to it).
"""

import http.client
import subprocess
import time
from pathlib import Path

from benchmarks import progress
from benchmarks.instance import Instance
from benchmarks.scale import Scale
from benchmarks.servers import BIN
from benchmarks.servers import Gunicorn
from benchmarks.servers import WorkerModel
from benchmarks.servers import memory_mb
from benchmarks.servers import run_watched
from benchmarks.stats import Row
from benchmarks.stats import Target
from benchmarks.stats import seconds_against
from benchmarks.web_load import PRODUCT
from benchmarks.web_load import SLUG

TIME_RATIO = Target(1.5, at_least=False, on_ratio=True)
PEAK_RSS = Target(100, at_least=False)
CHUNK = 256 * 1024
# A sync worker that streams longer than gunicorn's timeout is killed mid-download.
EXPORT_TIMEOUT = 600


def measure(
    instance: Instance, backend, newsletter_id: int, scale: Scale, model: WorkerModel, logs: Path
) -> tuple[list[Row], list[str]]:
    """Time the three ways out, interleaved, ``scale.repeats`` times."""
    token = instance.create_token()
    output = instance.folder / "export.csv"
    baseline_command = backend.export_baseline(instance.database_url, SLUG, newsletter_id)
    figures: dict[str, list[float]] = {name: [] for name in ("base", "cli", "cli_rss", "http")}
    figures |= {"http_rss": [], "idle_rss": []}
    for repeat in range(scale.repeats):
        figures["base"].append(_baseline(baseline_command, output))
        _check_rows(output, scale.existing_rows)
        seconds, peak = _cli(instance, output)
        _check_rows(output, scale.existing_rows)
        figures["cli"].append(seconds)
        figures["cli_rss"].append(peak)
        seconds, peak, idle = _http(instance, token, output, model, logs)
        _check_rows(output, scale.existing_rows)
        figures["http"].append(seconds)
        figures["http_rss"].append(peak)
        figures["idle_rss"].append(idle)
        progress.say(
            f"export {repeat + 1}: {backend.baseline_name} {figures['base'][-1]:.1f} s, "
            f"CLI {figures['cli'][-1]:.1f} s, HTTP {seconds:.1f} s"
        )
    output.unlink()
    rows_label = f"{scale.existing_rows:,} rows"
    base = figures["base"]
    rows = [
        Row(f"Export baseline: {backend.baseline_name}, {rows_label}", "s", base),
        seconds_against(
            f"Export: `newsletter export -o FILE`, {rows_label}",
            figures["cli"],
            base,
            backend.baseline_name,
            TIME_RATIO,
        ),
        Row("Export: `newsletter export` peak RSS", "MB", figures["cli_rss"], target=PEAK_RSS),
        seconds_against(
            f"Export: HTTP with a Bearer token, streamed to a file, {rows_label}",
            figures["http"],
            base,
            backend.baseline_name,
            TIME_RATIO,
        ),
        Row("Export: HTTP, gunicorn worker peak RSS", "MB", figures["http_rss"], target=PEAK_RSS),
    ]
    idle = sorted(figures["idle_rss"])[len(figures["idle_rss"]) // 2]
    notes = [
        f"Export: the gunicorn worker held {idle:.0f} MB before the download (imports, app).",
        f"Export over HTTP ran on a fresh gunicorn with one {model.name} worker and "
        f"--timeout {EXPORT_TIMEOUT}: with the default 30 s a sync worker streaming a "
        "longer download is killed by the master mid-file.",
    ]
    return rows, notes


def _baseline(command: list[str], output: Path) -> float:
    """Seconds the database's own CSV dump takes to write the file."""
    with output.open("wb") as file:
        started = time.monotonic()
        subprocess.run(command, stdout=file, check=True)
        return time.monotonic() - started


def _cli(instance: Instance, output: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``newsletter export --newsletter SLUG -o FILE``."""
    command = [str(BIN / "newsletter"), "export", "--newsletter", SLUG, "-o", str(output)]
    return run_watched(command, instance.environment())


def _http(
    instance: Instance, token: str, output: Path, model: WorkerModel, logs: Path
) -> tuple[float, float, float]:
    """Seconds and the worker's peak RSS of the download; and its RSS before it (MB)."""
    server = Gunicorn(
        PRODUCT,
        model,
        instance.environment(),
        logs / "export.log",
        workers=1,
        timeout=EXPORT_TIMEOUT,
    )
    with server:
        (worker,) = server.worker_pids()
        idle = memory_mb(worker, "VmRSS")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=EXPORT_TIMEOUT)
        started = time.monotonic()
        connection.request(
            "GET",
            f"/admin/newsletters/{SLUG}/subscribers.csv",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"HTTP export answered {response.status}")
        with output.open("wb") as file:
            while chunk := response.read(CHUNK):
                file.write(chunk)
        seconds = time.monotonic() - started
        connection.close()
        peak = memory_mb(worker)
    return seconds, peak, idle


def _check_rows(path: Path, rows: int) -> None:
    """The file holds a header and one line per subscription."""
    lines = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            lines += block.count(b"\n")
    if lines != rows + 1:
        raise RuntimeError(f"{path.name}: {lines} lines, expected {rows + 1}")
