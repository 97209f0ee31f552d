"""The soak: signups and confirmations under load while the services around them fail.

``python -m benchmarks.soak`` (``make soak``) runs gunicorn (gthread) on a fresh PostgreSQL
database with Redis rate-limit storage, two ``newsletter worker`` processes and the
recording SMTP sink, and drives 16 browser-like clients doing signups (GET the form, POST
it with its CSRF token) and confirmations (POST the link read from the mail the sink got).
On a schedule scaled to ``SOAK_SECONDS`` (default 60) it stops the sink for 10 s (twice),
SIGKILLs a mail worker while both workers have a batch in flight (the sink takes 20 ms a
message) and starts another, restarts PostgreSQL and restarts Redis (the faults run in
turn, so below about 40 s the load lasts until the last one). Then it lets the workers
drain and checks that nothing answered as accepted was lost, every confirmation arrived,
duplicates come only from the killed worker's claims (and that its claims were taken over
after their lease), every 503 carried Retry-After, and no request failed with a 500. A
check whose case never happened (no claim taken over, no 503 while the database was down)
reports NOT EXERCISED and fails, as a failed check does: it exits non-zero and writes the
figures to the "Soak" section of ``benchmarks/RESULTS.md`` (``SOAK_RESULTS=FILE`` writes
them there instead).

The PostgreSQL and Redis restarts act on this machine's services (as CI has them); they
are short, and both services are started again whatever happens.
"""

import http.client
import json
import os
import queue
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlencode

import redis
from sqlalchemy import func
from sqlalchemy import select

from benchmarks import progress
from benchmarks import webhook_receiver
from benchmarks.backends import PostgresBackend
from benchmarks.instance import Instance
from benchmarks.loadgen import ARTICLE
from benchmarks.loadgen import CSRF_FIELD
from benchmarks.loadgen import RECONNECT_ERRORS
from benchmarks.loadgen import Client
from benchmarks.loadgen import Job
from benchmarks.servers import BIN
from benchmarks.servers import ROOT
from benchmarks.servers import Gunicorn
from benchmarks.servers import SmtpSink
from benchmarks.servers import WorkerModel
from benchmarks.servers import http_ok
from newsletter.mail.worker import BATCH_SIZE
from newsletter.models import OutboxMessage
from newsletter.models import OutboxStatus
from newsletter.models import Reader
from newsletter.models import SignupRequest
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus

RESULTS = Path(__file__).parent / "RESULTS.md"
SECTION = "## Soak"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]
SLUG = "soak"
FORM = f"/newsletters/{SLUG}"
CONCURRENCY = 16
GUNICORN_WORKERS = 4
MAIL_WORKERS = 2
SINK_DOWN_SECONDS = 10.0
# Each message takes the sink this long, so the workers' batches stay in flight a while
# (a 50-message batch for a quarter of a second), yet the sink keeps up with the load.
SINK_DELAY_SECONDS = 0.005
# The SIGKILL waits (at most this long) until more than one batch is claimed: then every
# worker, the one killed included, has messages in flight.
KILL_WAIT_SECONDS = 20.0
# Short, so that the killed worker's claims go out again within the run.
LEASE_SECONDS = 30
RETRY_BASE_SECONDS = 2
# Long enough for the webhook events the failing receiver refused to come round again:
# ~15,000 requests at a 60 s smoke scale, a third of them refused or dropped.
DRAIN_SECONDS = 240.0
SERVICE_TIMEOUT = 60.0
FRIENDLY_503 = b"Temporarily unavailable"  # the error page's title (web/errors.py)
ACCESS_LINE = re.compile(r"^(\d{3}) (\S+) (\S+)")


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[str] = field(default_factory=list)  # addresses answered 303 (signed up)
    refused: Counter[int] = field(default_factory=Counter)  # signup POSTs not answered 303
    confirmed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # Each 503: when, and whether it had Retry-After and the friendly page.
    unavailable: list[tuple[float, bool]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def saw(self, status: int, response: http.client.HTTPResponse, page: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 503:
                retry = response.getheader("Retry-After") is not None
                friendly = FRIENDLY_503 in page
                self.unavailable.append((time.monotonic(), retry and friendly))


class SoakClient(Client):
    """A browser tab that signs up new addresses and confirms the links that arrive."""

    def __init__(self, job: Job, index: int, tally: Tally, links: queue.Queue) -> None:
        super().__init__(job, index, [])
        self.tally = tally
        self.links = links

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        status, response, page = self.request(method, path, body, headers)
        self.tally.saw(status, response, page)
        return status, response, page

    def signup_once(self) -> None:
        status, response, page = self.call("GET", FORM)
        token = CSRF_FIELD.search(page) if status == 200 else None
        if token is None:
            return
        cookies = [header.split(";", 1)[0] for header in response.msg.get_all("Set-Cookie", [])]
        address = f"{self.job.prefix}-{self.index}-{self.done}@example.com"
        self.done += 1
        body = urlencode({"email": address, "csrf_token": token.group(1).decode()}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(cookies),
            "Referer": ARTICLE,
        }
        status, _, _ = self.call("POST", f"{FORM}/subscribe", body, headers)
        with self.tally.lock:
            if status == 303:
                self.tally.accepted.append(address)
            else:
                self.tally.refused[status] += 1

    def confirm_once(self, path: str) -> None:
        status, _, _ = self.call("POST", path, b"")
        if status == 303:
            with self.tally.lock:
                self.tally.confirmed += 1
        else:
            self.links.put(path)  # try again later (the database may be down)

    def soak(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                path = self.links.get_nowait() if random.random() < 0.5 else None  # noqa: S311
            except queue.Empty:
                path = None
            try:
                self.confirm_once(path) if path else self.signup_once()
            except (OSError, http.client.HTTPException, *RECONNECT_ERRORS) as error:
                with self.tally.lock:
                    self.tally.errors[f"{type(error).__name__}: {error}"[:100]] += 1
                self.connection.close()
                stop.wait(0.2)
        self.connection.close()


def tail_links(record: Path, links: queue.Queue, stop: threading.Event) -> None:
    """Feed the confirmation links the sink records to the clients, each once."""
    seen: set[str] = set()
    offset = 0
    while not stop.wait(0.2):
        if not record.exists():
            continue
        with record.open(encoding="utf-8") as file:
            file.seek(offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            path = json.loads(line)["confirm"]
            if path and path not in seen:
                seen.add(path)
                links.put(path)


class Services:
    """This machine's PostgreSQL cluster and Redis server: restart them, always restore them."""

    def __init__(self) -> None:
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]

    def postgres_up(self) -> bool:
        command = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
        return subprocess.run(command, check=False).returncode == 0

    def redis_up(self) -> bool:
        command = ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"]
        return subprocess.run(command, check=False, capture_output=True).returncode == 0

    def pg_ctl(self, action: str) -> None:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", action]
        subprocess.run(command, check=True, capture_output=True)

    def restart_postgres(self) -> None:
        self.pg_ctl("restart")
        wait(self.postgres_up, "PostgreSQL")

    def restart_redis(self) -> None:
        subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
        wait(lambda: not self.redis_up(), "Redis to stop")
        subprocess.run(REDIS_START, check=True, capture_output=True)
        wait(self.redis_up, "Redis")

    def restore(self) -> None:
        """Start whichever service is down (after a failure in the middle of a fault)."""
        if not self.postgres_up():
            self.pg_ctl("start")
            wait(self.postgres_up, "PostgreSQL")
        if not self.redis_up():
            subprocess.run(REDIS_START, check=True, capture_output=True)
            wait(self.redis_up, "Redis")


def wait(ready: Callable[[], bool], what: str, timeout: float = SERVICE_TIMEOUT) -> None:
    """Poll until ``ready()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


class MailWorkers:
    """``newsletter worker`` processes, each logging to its own file."""

    def __init__(self, instance: Instance, environment: dict[str, str], logs: Path) -> None:
        self.instance = instance
        self.environment = environment
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        number = len(self.processes) + 1
        with (self.logs / f"worker-{number}.log").open("a") as log:
            self.processes.append(
                subprocess.Popen(
                    [str(BIN / "newsletter"), "worker"],
                    env=self.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )

    def kill_one(self) -> None:
        """SIGKILL the oldest live worker: what it had claimed stays claimed."""
        victim = next(process for process in self.processes if process.poll() is None)
        victim.kill()
        victim.wait()

    def stop(self) -> None:
        """SIGTERM (the batch in hand is finished), SIGKILL after 30 s."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Faults:
    """When each fault happened (monotonic seconds) and what was in flight then."""

    events: list[tuple[float, str]] = field(default_factory=list)
    database_down: tuple[float, float] | None = None
    # Message-ID → attempts so far, of each message claimed right after the SIGKILL.
    in_flight_at_kill: dict[str, int] = field(default_factory=dict)
    in_flight_at_restart: set[str] = field(default_factory=set)
    # The sink may record a message and stop before its 250 reaches the worker.
    in_flight_at_sink_stop: set[str] = field(default_factory=set)


def sending(instance: Instance) -> set[str]:
    """Message-IDs of the messages claimed right now (being sent)."""
    return set(attempts_in_flight(instance))


def attempts_in_flight(instance: Instance) -> dict[str, int]:
    """Message-ID → attempts so far, of the messages claimed right now."""
    with instance.engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.message_id, OutboxMessage.attempts).where(
                OutboxMessage.status == OutboxStatus.SENDING
            )
        )
        return {message_id: attempts for message_id, attempts in rows}


def wait_for_batches_in_flight(instance: Instance) -> None:
    """Wait until more than one batch is claimed: then each worker holds one.

    Gives up after ``KILL_WAIT_SECONDS``; the check on duplicates then reports that the
    SIGKILL was not exercised.
    """
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while len(sending(instance)) <= BATCH_SIZE and time.monotonic() < deadline:
        time.sleep(0.05)


def inject(
    seconds: float,
    started: float,
    sink: SmtpSink,
    workers: MailWorkers,
    services: Services,
    instance: Instance,
    server: Gunicorn,
) -> Faults:
    """The schedule, at fractions of the run: each fault in turn, none overlapping."""
    faults = Faults()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + fraction * seconds - time.monotonic()))

    def note(what: str) -> None:
        faults.events.append((time.monotonic() - started, what))
        progress.say(f"soak {time.monotonic() - started:5.1f} s: {what}")

    def sink_outage() -> None:
        faults.in_flight_at_sink_stop |= sending(instance)
        sink.__exit__(None, None, None)
        note(f"SMTP sink stopped for {SINK_DOWN_SECONDS:.0f} s")
        time.sleep(SINK_DOWN_SECONDS)
        sink.__enter__()
        note("SMTP sink started again")

    at(0.1)
    sink_outage()
    at(0.35)
    wait_for_batches_in_flight(instance)
    workers.kill_one()
    faults.in_flight_at_kill = attempts_in_flight(instance)
    note(f"mail worker SIGKILLed ({len(faults.in_flight_at_kill)} message(s) claimed)")
    workers.start()
    note("mail worker started again")
    at(0.45)
    faults.in_flight_at_restart = sending(instance)
    down = time.monotonic()
    note("PostgreSQL restarting")
    services.restart_postgres()
    wait(lambda: http_ok(server.base_url + "/healthz"), "the app's /healthz")
    faults.database_down = (down, time.monotonic())
    note(f"PostgreSQL back, /healthz 200 after {faults.database_down[1] - down:.1f} s")
    at(0.6)
    sink_outage()
    at(0.85)
    note("Redis restarting")
    services.restart_redis()
    note("Redis back")
    return faults


def drain(instance: Instance, deadline: float) -> dict[OutboxStatus, int]:
    """Wait until no signup waits to be applied and nothing is queued or being sent, mail
    or webhook event (or the deadline); the outbox's counts by status."""
    while True:
        with instance.engine.connect() as connection:
            counts = dict(
                connection.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
            signups = connection.scalar(select(func.count()).select_from(SignupRequest))
        waiting = counts.get(OutboxStatus.QUEUED, 0) + counts.get(OutboxStatus.SENDING, 0)
        waiting += signups + webhook_receiver.waiting(instance.engine)
        if not waiting or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


@dataclass
class Check:
    """One line of the verdict."""

    name: str
    passed: bool
    detail: str
    # False when the run never produced the case the check is about: a check that could
    # not have failed proves nothing, so it counts as a failure.
    exercised: bool = True

    @property
    def verdict(self) -> str:
        if not self.exercised:
            return "NOT EXERCISED"
        return "PASS" if self.passed else "FAIL"

    @property
    def ok(self) -> bool:
        return self.exercised and self.passed


def check(
    instance: Instance,
    tally: Tally,
    faults: Faults,
    record: Path,
    logs: Path,
    counts: dict[OutboxStatus, int],
    hooks: webhook_receiver.Record,
) -> tuple[list[Check], dict[str, object]]:
    """Compare what the clients were told with the database, the sink and the logs."""
    with instance.engine.connect() as connection:
        stored = Counter(
            connection.scalars(
                select(Reader.email).join(Subscription, Subscription.reader_id == Reader.id)
            )
        )
        pending = connection.scalar(
            select(func.count()).where(Subscription.status == SubscriptionStatus.PENDING)
        )
        outbox_rows = connection.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.message_id,
                OutboxMessage.kind,
                OutboxMessage.attempts,
            )
        ).all()
    # The killed worker's claims go out again once their lease has run out: one more
    # attempt than when the worker was killed (the other worker's claims get none).
    taken_over = [
        row
        for row in outbox_rows
        if row.attempts > faults.in_flight_at_kill.get(row.message_id, row.attempts)
    ]
    received = Counter(
        json.loads(line)["message_id"] for line in record.read_text("utf-8").splitlines()
    )
    missing = [address for address in tally.accepted if stored[address] != 1]
    confirmations = [row for row in outbox_rows if row.kind == "confirmation"]
    undelivered = [row for row in outbox_rows if received[row.message_id] == 0]
    unconfirmed_undelivered = [row for row in confirmations if received[row.message_id] == 0]
    duplicates = {message_id: n for message_id, n in received.items() if n > 1}
    unknown = set(received) - {row.message_id for row in outbox_rows}
    explained = set(faults.in_flight_at_kill)
    unexplained = {message_id for message_id in duplicates if message_id not in explained}
    at_sink_stop = unexplained & faults.in_flight_at_sink_stop
    unexplained -= at_sink_stop
    for row in outbox_rows:
        if row.message_id in unexplained:
            at_restart = row.message_id in faults.in_flight_at_restart
            print(
                f"unexplained duplicate: outbox id {row.id} {row.kind}, {row.attempts} "
                f"attempt(s), received {duplicates[row.message_id]}×, claimed at the "
                f"PostgreSQL restart: {at_restart}"
            )
    access_500 = server_errors(logs / "access.log")
    # The app's own 500s, and exceptions gunicorn caught outside the app's handlers.
    logged = sum(
        log.read_text(errors="replace").count(marker)
        for log in logs.glob("*.log")
        for marker in ("Unhandled error", "Error handling request")
    )
    down = faults.database_down or (0.0, 0.0)
    during = [(when, retry) for when, retry in tally.unavailable if down[0] <= when <= down[1] + 2]
    figures = {
        "signups accepted (303)": len(tally.accepted),
        "signup POSTs refused": dict(tally.refused),
        "confirmations accepted (303)": tally.confirmed,
        "subscriptions stored": sum(stored.values()),
        "still pending": pending,
        "outbox by status": {status.value: n for status, n in counts.items()},
        "messages received at the sink": sum(received.values()),
        "distinct Message-IDs received": len(received),
        "duplicate deliveries": sum(n - 1 for n in duplicates.values()),
        "claimed at the SIGKILL": len(faults.in_flight_at_kill),
        "taken over after the killed worker's lease": len(taken_over),
        "HTTP statuses": dict(sorted(tally.statuses.items())),
        "503 while the database was down": len(during),
        "503 at other times": len(tally.unavailable) - len(during),
        "client errors (connection)": dict(tally.errors),
        "database down (s)": round(down[1] - down[0], 1),
    }
    checks = [
        Check(
            "every signup answered 303 is stored exactly once",
            not missing,
            f"{len(tally.accepted)} accepted, {len(missing)} missing or duplicated",
        ),
        Check(
            "every subscription's confirmation reached the sink (by Message-ID)",
            len(confirmations) == sum(stored.values()) and not unconfirmed_undelivered,
            f"{len(confirmations)} confirmations queued for {sum(stored.values())} "
            f"subscriptions, {len(unconfirmed_undelivered)} not received",
        ),
        Check(
            "every queued message (welcomes too) was delivered",
            not undelivered,
            f"{len(outbox_rows)} queued, {len(undelivered)} not received",
        ),
        Check(
            "duplicates only for messages claimed at the SIGKILL or a sink stop (same Message-ID)",
            not unexplained and not unknown,
            f"{len(duplicates)} duplicated, {len(at_sink_stop)} sent as the sink stopped, "
            f"{len(unexplained)} not explained by a fault, "
            f"{len(unknown)} Message-IDs unknown to the outbox; "
            f"{len(faults.in_flight_at_kill)} claimed at the SIGKILL, "
            f"{len(taken_over)} of them taken over after the lease",
            exercised=bool(taken_over),
        ),
        Check(
            "no 500 (access log, clients, application log)",
            not access_500 and not tally.statuses[500] and not logged,
            f"access log {access_500}, clients {tally.statuses[500]}, logged {logged}",
        ),
        Check(
            "every 503 carried Retry-After and the friendly error page",
            all(retry for _, retry in tally.unavailable),
            f"{len(tally.unavailable)} 503s, {len(during)} while the database was down",
            exercised=bool(during),
        ),
        Check(
            "no connection errors at the clients",
            not tally.errors,
            f"{sum(tally.errors.values())} errors",
        ),
    ]
    # The webhook receiver answered 500 or dropped the connection on a schedule.
    hooked, detail, failed, hook_figures = webhook_receiver.check(instance.engine, hooks)
    checks.append(
        Check(
            "every status change's webhook event reached the receiver at least once, signed",
            hooked,
            detail,
            exercised=failed,
        )
    )
    figures.update(hook_figures)
    return checks, figures


def server_errors(access_log: Path) -> int:
    """How many 5xx other than 503 gunicorn's access log holds."""
    count = 0
    for line in access_log.read_text(errors="replace").splitlines():
        found = ACCESS_LINE.match(line)
        if found and found.group(1).startswith("5") and found.group(1) != "503":
            count += 1
    return count


def _plain(value: object) -> str:
    """A figure as text: a mapping as ``key: value`` pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {count}" for key, count in value.items()) or "none"
    return str(value)


VERDICTS = {"PASS": "pass", "FAIL": "**FAIL**", "NOT EXERCISED": "**not exercised**"}


def write_results(seconds: int, faults: Faults, checks: list[Check], figures: dict) -> Path:
    """Replace (or add) the Soak section at the end of RESULTS.md, keeping the rest."""
    path = Path(os.environ.get("SOAK_RESULTS") or RESULTS)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        SECTION,
        "",
        f"`SOAK_SECONDS={seconds} make soak`, {stamp}: "
        f"gunicorn {GUNICORN_WORKERS} gthread workers × 4 threads on PostgreSQL, Redis "
        f"rate-limit storage (limits on, set high), {MAIL_WORKERS} `newsletter worker` "
        f"processes (lease {LEASE_SECONDS} s, first retry after {RETRY_BASE_SECONDS} s), "
        f"{CONCURRENCY} clients signing up and confirming.",
        "",
        "Faults (seconds into the run):",
        "",
        *(f"- {when:.1f} s: {what}" for when, what in faults.events),
        "",
        "| Check | Result | Detail |",
        "|---|---|---|",
        *(f"| {item.name} | {VERDICTS[item.verdict]} | {item.detail} |" for item in checks),
        "",
        "| Figure | Value |",
        "|---|---|",
        *(f"| {name} | {_plain(value)} |" for name, value in figures.items()),
        "",
    ]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(f"\n{SECTION}\n")
    if start >= 0:
        following = text.find("\n## ", start + 1)
        rest = text[following:] if following >= 0 else "\n"
        text = text[: start + 1] + "\n".join(lines) + rest
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    """Run the soak; exit 1 if a check fails."""
    seconds = int(os.environ.get("SOAK_SECONDS") or 60)
    services = Services()
    services.restore()
    backend = PostgresBackend(os.environ.get("SOAK_POSTGRES_URL") or POSTGRES_URL)
    prefix = f"soak-{os.getpid()}-{secrets.token_hex(4)}:"
    try:
        with tempfile.TemporaryDirectory(prefix="newsletter-soak-") as temporary:
            passed = run(seconds, Path(temporary), backend, services, prefix)
    finally:
        services.restore()
        backend.admin.dispose()  # its pooled connection did not survive the restart
        backend.drop_all()
        storage = redis.Redis.from_url(REDIS_URL)
        keys = list(storage.scan_iter(f"*{prefix}*"))
        if keys:
            storage.delete(*keys)
        storage.close()
    sys.exit(0 if passed else 1)


def run(seconds: int, folder: Path, backend, services: Services, prefix: str) -> bool:
    """Everything between creating the database and dropping it."""
    logs = folder / "logs"
    logs.mkdir()
    record = folder / "received.jsonl"
    record.touch()
    sink = SmtpSink(logs / "smtp-sink.log", record, SINK_DELAY_SECONDS)
    sink.__enter__()
    try:
        instance = Instance(folder / "instance", backend.new_database("soak"), sink.url)
        instance.prepare(SLUG)
    except BaseException:
        sink.__exit__(None, None, None)
        raise
    environment = instance.environment() | {
        "NEWSLETTER_RATELIMIT_ENABLED": "true",
        "NEWSLETTER_RATELIMIT_STORAGE_URI": REDIS_URL,
        "NEWSLETTER_RATELIMIT_KEY_PREFIX": prefix,
        "NEWSLETTER_SIGNUP_RATE_LIMIT": "1000000 per minute",
        "NEWSLETTER_ADDRESS_RATE_LIMIT": "1000 per hour",
        "NEWSLETTER_MAIL_LEASE_SECONDS": str(LEASE_SECONDS),
        "NEWSLETTER_MAIL_RETRY_BASE_SECONDS": str(RETRY_BASE_SECONDS),
        **webhook_receiver.SETTINGS,
    }
    hooks = webhook_receiver.FailingReceiver()
    model = WorkerModel(
        "gthread",
        (
            "--worker-class",
            "gthread",
            "--workers",
            str(GUNICORN_WORKERS),
            "--threads",
            "4",
            "--access-logfile",
            str(logs / "access.log"),
            "--access-logformat",
            "%(s)s %(m)s %(U)s",
        ),
        f"{GUNICORN_WORKERS} gthread workers × 4 threads",
    )
    server = Gunicorn("newsletter:create_app()", model, environment, logs / "gunicorn.log")
    workers = MailWorkers(instance, environment, logs)
    tally = Tally()
    links: queue.Queue = queue.Queue()
    stop = threading.Event()
    try:
        hooks.__enter__()
        hooks.register(environment, SLUG)
        server.start()
        for _ in range(MAIL_WORKERS):
            workers.start()
        progress.say(f"soak: {seconds} s, {CONCURRENCY} clients on {server.base_url}")
        job = Job("signup", server.base_url, FORM, CONCURRENCY, prefix="soak")
        clients = [SoakClient(job, index, tally, links) for index in range(CONCURRENCY)]
        threads = [threading.Thread(target=client.soak, args=(stop,)) for client in clients]
        threads.append(threading.Thread(target=tail_links, args=(record, links, stop)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            faults = inject(seconds, started, sink, workers, services, instance, server)
            time.sleep(max(0.0, started + seconds - time.monotonic()))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        progress.say("soak: load stopped; letting the workers drain")
        counts = drain(instance, time.monotonic() + DRAIN_SECONDS)
        workers.stop()
        checks, figures = check(instance, tally, faults, record, logs, counts, hooks.record)
    finally:
        stop.set()
        workers.stop()
        server.stop()
        hooks.__exit__(None, None, None)
        sink.__exit__(None, None, None)
        instance.dispose()
    for item in checks:
        print(f"{item.verdict}  {item.name}: {item.detail}")
    for name, value in figures.items():
        print(f"      {name}: {_plain(value)}")
    path = write_results(seconds, faults, checks, figures)
    progress.say(f"soak: figures written to {path}")
    passed = all(item.ok for item in checks)
    if not passed:
        kept = Path(tempfile.gettempdir()) / f"newsletter-soak-logs-{os.getpid()}"
        shutil.copytree(logs.parent, kept)
        print(f"logs and the sink's record kept in {kept}")
    return passed


if __name__ == "__main__":
    main()
