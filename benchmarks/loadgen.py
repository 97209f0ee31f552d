"""The load generator: what browsers do, from threads on keep-alive connections.

A generator process (``python -m benchmarks.loadgen``, a JSON job on standard input, a
JSON result on standard output) runs one thread per simulated client, each with its own
``http.client`` connection; the connection is reopened only when the server closes it.
:func:`drive` starts two such processes, so that one interpreter's lock does not cap the
load, and counts only what completes inside the measured window that follows a warm-up.

Kinds of client:

- ``get``: GET a path (the bare-Flask baseline);
- ``signup``: a new visitor (empty cookie jar) GETs the form, reads its ``csrf_token``,
  POSTs it with a unique address, and follows nothing (the POST answers 303);
- ``several``: the same on a form for several newsletters (``/subscribe?newsletters=…``),
  ticking every newsletter it offers;
- ``confirm``: POST ``/confirm/<token>`` with the next token of its share (303).
"""

import http.client
import json
import re
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urlencode
from urllib.parse import urlsplit

from benchmarks.servers import ROOT
from benchmarks.servers import Gunicorn
from benchmarks.stats import percentile

PROCESSES = 2
# Seconds between the generators' "ready" and the load's start: their threads' start-up only,
# since a generator says ready once its interpreter and clients are up (which, on a loaded
# machine, can take seconds: a fixed delay from launch measured nothing then).
START_DELAY = 0.1
READY = "ready"
CSRF_FIELD = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
CHECKBOX = re.compile(rb'name="newsletters" value="([^"]+)"')
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) newsletter-bench/1"
ARTICLE = "https://news.example.org/2025/ukraine-explained"
RECONNECT_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Unexpected(Exception):
    """The server answered, but not what a successful step answers."""


@dataclass
class Job:
    """What one generator process does."""

    kind: str
    base_url: str
    path: str
    threads: int
    # The timing comes in a second message, once every generator is ready (see drive).
    start_at: float = 0.0  # time.monotonic() (system-wide on Linux) when the threads start
    window_start: float = 0.0
    window_end: float = 0.0
    prefix: str = "bench"
    tokens: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What one generator process saw inside the window (and its own CPU cost)."""

    completed: int = 0
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    exhausted: bool = False
    last_completion: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU during the window


class Client:
    """One simulated browser tab: a connection, and the steps of its kind."""

    def __init__(self, job: Job, index: int, tokens: list[str]) -> None:
        self.job = job
        self.index = index
        self.tokens = tokens
        parts = urlsplit(job.base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.done = 0

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPResponse, bytes]:
        """One request, retried once on a fresh connection if a kept-alive one was closed."""
        headers = {"User-Agent": USER_AGENT, **(headers or {})}
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, response, payload
            except RECONNECT_ERRORS:
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self) -> tuple[float, int] | None:
        began = time.monotonic()
        status, _, _ = self.request("GET", self.job.path)
        _expect(status, 200)
        return began, 1

    def signup(self) -> tuple[float, int] | None:
        return self._sign_up(f"{self.job.path}/subscribe")

    def several(self) -> tuple[float, int] | None:
        return self._sign_up(self.job.path, tick_every_newsletter=True)

    def _sign_up(self, action: str, tick_every_newsletter: bool = False) -> tuple[float, int]:
        """GET the form, POST it to ``action`` (with every checkbox ticked if asked)."""
        status, response, page = self.request("GET", self.job.path)
        _expect(status, 200)
        cookies = [header.split(";", 1)[0] for header in response.msg.get_all("Set-Cookie", [])]
        token = CSRF_FIELD.search(page)
        if token is None:
            raise Unexpected("no csrf_token in the form")
        address = f"{self.job.prefix}-{self.index}-{self.done}@example.com"
        fields = {"email": address, "csrf_token": token.group(1).decode()}
        if tick_every_newsletter:
            fields["newsletters"] = [slug.decode() for slug in CHECKBOX.findall(page)]
        body = urlencode(fields, doseq=True).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(cookies),
            "Referer": ARTICLE,
        }
        began = time.monotonic()
        status, _, _ = self.request("POST", action, body, headers)
        _expect(status, 303)
        return began, 2

    def confirm(self) -> tuple[float, int] | None:
        if self.done >= len(self.tokens):
            return None
        began = time.monotonic()
        status, _, _ = self.request("POST", f"/confirm/{self.tokens[self.done]}", b"")
        _expect(status, 303)
        return began, 1

    def run(self, outcome: Outcome, lock: threading.Lock) -> None:
        """Repeat the step until the window closes; record what completed inside it."""
        step: Callable[[], tuple[float, int] | None] = getattr(self, self.job.kind)
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        completed = requests = 0
        last = 0.0
        exhausted = False
        time.sleep(max(0.0, self.job.start_at - time.monotonic()))
        while time.monotonic() < self.job.window_end:
            try:
                result = step()
            except (OSError, http.client.HTTPException, Unexpected) as error:
                errors[f"{type(error).__name__}: {error}"[:120]] += 1
                self.connection.close()
                continue
            if result is None:
                exhausted = True
                break
            self.done += 1
            ended = time.monotonic()
            began, count = result
            if self.job.window_start <= ended < self.job.window_end:
                completed += 1
                requests += count
                latencies.append((ended - began) * 1000)
                last = ended
        self.connection.close()
        with lock:
            outcome.completed += completed
            outcome.requests += requests
            outcome.latencies_ms.extend(latencies)
            for key, count in errors.items():
                outcome.errors[key] = outcome.errors.get(key, 0) + count
            outcome.exhausted = outcome.exhausted or exhausted
            outcome.last_completion = max(outcome.last_completion, last)


def _expect(status: int, wanted: int) -> None:
    if status != wanted:
        raise Unexpected(f"HTTP {status}, expected {wanted}")


def generate(job: Job, await_timing: Callable[[], dict]) -> Outcome:
    """Run ``job.threads`` clients until the window closes (in this process), the window
    set by ``await_timing`` once the clients are made."""
    outcome = Outcome()
    lock = threading.Lock()
    clients = [Client(job, index, job.tokens[index :: job.threads]) for index in range(job.threads)]
    for name, value in await_timing().items():
        setattr(job, name, value)
    threads = [threading.Thread(target=client.run, args=(outcome, lock)) for client in clients]
    sampler = threading.Thread(target=_sample_cpu, args=(job, outcome))
    for thread in [sampler, *threads]:
        thread.start()
    for thread in [sampler, *threads]:
        thread.join()
    return outcome


def _sample_cpu(job: Job, outcome: Outcome) -> None:
    """This process's own CPU time during the measured window."""
    time.sleep(max(0.0, job.window_start - time.monotonic()))
    before = _own_cpu()
    time.sleep(max(0.0, job.window_end - time.monotonic()))
    outcome.cpu_seconds = _own_cpu() - before


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class LoadResult:
    """One load run against one server, everything the report needs from it."""

    kind: str
    concurrency: int
    rate: float  # completed operations per second in the window
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu_ms_per_op: float
    completed: int
    errors: dict[str, int]
    generator_cpu_share: float  # the generator's CPU, in cores, while it ran
    generator_cpu_ms_per_request: float


def drive(
    server: Gunicorn,
    kind: str,
    path: str,
    concurrency: int,
    warmup: float,
    duration: float,
    *,
    prefix: str = "bench",
    tokens: list[str] | None = None,
) -> LoadResult:
    """Load ``server`` with ``concurrency`` clients of ``kind`` split over two processes,
    started together once both say they are ready."""
    processes = []
    for number in range(PROCESSES):
        threads = concurrency // PROCESSES + (number < concurrency % PROCESSES)
        job = Job(
            kind=kind,
            base_url=server.base_url,
            path=path,
            threads=threads,
            prefix=f"{prefix}-p{number}",
            tokens=(tokens or [])[number::PROCESSES],
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loadgen"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(asdict(job)) + "\n")
        process.stdin.flush()
        processes.append(process)
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != READY:
            raise RuntimeError(f"load generator failed to start (exit {process.wait()})")
    start_at = time.monotonic() + START_DELAY
    window_start = start_at + warmup
    window_end = window_start + duration
    timing = {"start_at": start_at, "window_start": window_start, "window_end": window_end}
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(json.dumps(timing))
        process.stdin.close()
    time.sleep(max(0.0, window_start - time.monotonic()))
    cpu_before = server.cpu_seconds()
    time.sleep(max(0.0, window_end - time.monotonic()))
    cpu_after = server.cpu_seconds()
    outcomes = []
    for process in processes:
        assert process.stdout is not None
        output = process.stdout.read()
        if process.wait() != 0:
            raise RuntimeError(f"load generator failed (exit {process.returncode})")
        outcomes.append(Outcome(**json.loads(output)))
    return _combine(kind, concurrency, outcomes, window_start, window_end, cpu_after - cpu_before)


def _combine(
    kind: str,
    concurrency: int,
    outcomes: list[Outcome],
    window_start: float,
    window_end: float,
    server_cpu: float,
) -> LoadResult:
    completed = sum(outcome.completed for outcome in outcomes)
    requests = sum(outcome.requests for outcome in outcomes)
    latencies = [latency for outcome in outcomes for latency in outcome.latencies_ms]
    errors: Counter[str] = Counter()
    for outcome in outcomes:
        errors.update(outcome.errors)
    end = window_end
    if any(outcome.exhausted for outcome in outcomes):
        end = max(outcome.last_completion for outcome in outcomes) or window_end
    seconds = max(end - window_start, 1e-9)
    generator_cpu = sum(outcome.cpu_seconds for outcome in outcomes)
    return LoadResult(
        kind=kind,
        concurrency=concurrency,
        rate=completed / seconds,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        server_cpu_ms_per_op=server_cpu * 1000 / completed if completed else 0.0,
        completed=completed,
        errors=dict(errors),
        generator_cpu_share=generator_cpu / (window_end - window_start),
        generator_cpu_ms_per_request=generator_cpu * 1000 / requests if requests else 0.0,
    )


def main() -> None:
    """The generator process: a JSON :class:`Job` in, a JSON :class:`Outcome` out."""
    job = Job(**json.loads(sys.stdin.readline()))

    def ready_then_timing() -> dict:
        print(READY, flush=True)
        return json.loads(sys.stdin.read())

    json.dump(asdict(generate(job, ready_then_timing)), sys.stdout)


if __name__ == "__main__":
    main()
