"""Processes the benchmarks start and watch: gunicorn, the SMTP sink; their CPU and memory.

CPU is read from ``/proc/<pid>/stat`` (utime + stime) of a process and its children, so
a gunicorn master and its workers are counted together; peak memory is ``VmHWM`` from
``/proc/<pid>/status``.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CORES = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BOOT_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = BOOT_TIMEOUT) -> float:
    """Poll until ``url`` answers 200; seconds waited. Fails if the process dies first."""
    started = time.monotonic()
    while not http_ok(url):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.02)
    return time.monotonic() - started


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / CLOCK_TICKS


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of ``/proc/<pid>/status`` (peak RSS by default), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def run_watched(
    command: list[str], environment: dict[str, str], *, quiet: bool = False
) -> tuple[float, float]:
    """Run a command to its end (``quiet``: its standard output discarded): its seconds,
    and its peak RSS (MiB), read until it exits.

    The peak is the process's own ``VmHWM``. (``ru_maxrss`` from ``wait4`` would not do: a
    child started with vfork inherits the high-water mark of the parent's memory at exec,
    and the harness is the bigger process.)
    """
    started = time.monotonic()
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, env=environment, cwd=ROOT, stdout=output)
    peak = 0.0
    while process.poll() is None:
        with contextlib.suppress(OSError, LookupError):  # exiting between poll and read
            peak = max(peak, memory_mb(process.pid))
        time.sleep(0.02)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed with {process.returncode}")
    return seconds, peak


def wait_until_idle(pids: list[int], timeout: float = BOOT_TIMEOUT) -> None:
    """Wait until these processes stop using CPU (every gunicorn worker has booted)."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = cpu_seconds(pids)
        if now - before <= 0.02:
            return
        before = now


@dataclass(frozen=True)
class WorkerModel:
    """A gunicorn worker configuration: its command-line options and why it is there."""

    name: str
    options: tuple[str, ...]
    description: str


SYNC = WorkerModel(
    "sync",
    ("--worker-class", "sync", "--workers", str(2 * CORES + 1)),
    f"{2 * CORES + 1} sync workers (2 × cores + 1), one request at a time each, no keep-alive",
)
GTHREAD = WorkerModel(
    "gthread",
    ("--worker-class", "gthread", "--workers", str(CORES + 1), "--threads", "4"),
    f"{CORES + 1} gthread workers (cores + 1) × 4 threads, keep-alive connections",
)
# Tried in this order; on a tie the first is kept (gthread: it also streams long exports).
WORKER_MODELS = (GTHREAD, SYNC)


class Gunicorn:
    """A gunicorn master serving ``app`` on a free loopback port, with its workers."""

    def __init__(
        self,
        app: str,
        model: WorkerModel,
        environment: dict[str, str],
        log_path: Path,
        *,
        ready_path: str = "/healthz",
        workers: int | None = None,
        timeout: int = 30,
    ) -> None:
        self.app = app
        self.model = model
        self.environment = environment
        self.log_path = log_path
        self.ready_path = ready_path
        self.workers = workers
        self.timeout = timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        self.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start, then wait for a 200 and for every worker to finish booting."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the master without waiting (servers launched together boot in parallel)."""
        options = list(self.model.options)
        if self.workers is not None:
            options[options.index("--workers") + 1] = str(self.workers)
        command = [
            str(BIN / "gunicorn"),
            *options,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--backlog",
            "2048",
            "--timeout",
            str(self.timeout),
            "--log-level",
            "warning",
            self.app,
        ]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                command, env=self.environment, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )

    def wait_ready(self) -> None:
        """Wait for a 200, then until the workers stop using CPU (all have booted)."""
        assert self.process is not None
        wait_for_http(self.base_url + self.ready_path, self.process)
        wait_until_idle(self.pids())

    def pids(self) -> list[int]:
        """The master and its workers."""
        assert self.process is not None
        return [self.process.pid, *self.worker_pids()]

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU used so far by the master and the workers."""
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not go within ten seconds."""
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """Ask the master to shut down (it stops its workers)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def serving(*servers: Gunicorn) -> Iterator[None]:
    """Run the servers side by side: they boot in parallel and stop together."""
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait_stopped()


class SmtpSink:
    """The aiosmtpd sink (``python -m benchmarks.smtp_sink``) in a process of its own.

    With ``record_path`` it records every message it accepts there (see the module). It
    keeps its port across a stop and a start, as a mail server that was restarted does.
    """

    def __init__(self, log_path: Path, record_path: Path | None = None, delay: float = 0.0) -> None:
        self.log_path = log_path
        self.record_path = record_path
        self.delay = delay
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "SmtpSink":
        record = [str(self.record_path)] if self.record_path else []
        if self.delay:
            record = [*(record or [os.devnull]), str(self.delay)]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.smtp_sink", str(self.port), *record],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(3) == b"220":
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP sink did not start; see {self.log_path}")
            time.sleep(0.05)

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
