"""Signup timing by address state: does one signup's duration tell what the address is?

The answer to a signup is the same for every address; its duration must be too, or a
stopwatch enumerates subscribers. The product serves under gunicorn (one gthread worker,
so requests do not queue behind each other) with a ``newsletter worker`` beside it, as in
production, on a newsletter whose existing readers are confirmed, pending or unsubscribed.
One client on a keep-alive connection POSTs the signup form, one request at a time, for
addresses in each state (never the same address twice) in random order, and times each
POST from sending to the last byte of the answer.

For each pair of states, the best single-request classifier is a threshold on the time:
chosen on one half of the samples (the threshold and direction that best separate them),
its balanced accuracy is then measured on the other half. 50 % means the time tells
nothing; the goal is at most 55 %.

Run alone with ``python -m benchmarks.signup_timing`` (``BENCH_SCALE``,
``NEWSLETTER_BENCH_POSTGRES_URL`` as for ``make bench``); it prints a Markdown table.
"""

import http.client
import itertools
import os
import random
import statistics
import subprocess
import tempfile
import time
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from benchmarks import backends
from benchmarks import progress
from benchmarks.instance import STATUS_CYCLE
from benchmarks.instance import Instance
from benchmarks.loadgen import CSRF_FIELD
from benchmarks.loadgen import USER_AGENT
from benchmarks.scale import Scale
from benchmarks.scale import from_environment
from benchmarks.servers import BIN
from benchmarks.servers import GTHREAD
from benchmarks.servers import ROOT
from benchmarks.servers import Gunicorn
from benchmarks.servers import SmtpSink
from benchmarks.stats import Row
from benchmarks.stats import Target
from benchmarks.web_load import PRODUCT

SLUG = "bench-timing"
FORM = f"/newsletters/{SLUG}"
STATES = ("new", "pending", "confirmed", "unsubscribed")
# Timed signups per state; the classifier learns on half and is judged on the other half.
SAMPLES = {"full": 600, "small": 80}
WARMUP_SIGNUPS = 50
ACCURACY = Target(55.0, at_least=False)
SEED = 20261129


def measure(backend, scale: Scale, sink: SmtpSink, folder: Path) -> tuple[list[Row], list[str]]:
    """Time signups per address state on ``backend``; rows and notes for the report."""
    instance = Instance(folder / "timing", backend.new_database("timing"), sink.url)
    newsletter_id = instance.prepare(SLUG)
    per_state = SAMPLES[scale.name]
    addresses = _addresses(instance, newsletter_id, per_state)
    rng = random.Random(SEED)
    order = [(state, address) for state in STATES for address in addresses[state]]
    rng.shuffle(order)
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = Gunicorn(PRODUCT, GTHREAD, instance.environment(), logs / "timing.log", workers=1)
    with server, _mail_worker(instance, logs / "timing-worker.log"):
        times = _time_signups(server.base_url, order)
    instance.dispose()
    medians = {state: statistics.median(times[state]) for state in STATES}
    progress.say(
        f"{backend.name}: signup medians "
        + ", ".join(f"{state} {medians[state]:.2f} ms" for state in STATES)
    )
    rows = [Row(f"Signup POST median, {state} address", "ms", [medians[state]]) for state in STATES]
    for first, second in itertools.combinations(STATES, 2):
        accuracy = classifier_accuracy(times[first], times[second], rng)
        rows.append(
            Row(f"Timing classifier, {first} vs {second}", "%", [accuracy], target=ACCURACY)
        )
    notes = [
        f"Signup timing: {per_state} POSTs per address state in random order, one at a time, "
        "against one gthread worker with `newsletter worker` running; accuracy is that of "
        "the best threshold on one POST's time, chosen on half the samples and measured on "
        "the other half (50 % = the time tells nothing)."
    ]
    return rows, notes


def classifier_accuracy(first: list[float], second: list[float], rng: random.Random) -> float:
    """Held-out balanced accuracy (%) of the best threshold separating the two samples."""
    first_train, first_test = _halves(first, rng)
    second_train, second_test = _halves(second, rng)
    best = (0.0, 0.0, True)
    for threshold in sorted(first_train + second_train):
        for first_below in (True, False):
            score = _balanced(first_train, second_train, threshold, first_below)
            if score > best[0]:
                best = (score, threshold, first_below)
    _, threshold, first_below = best
    return 100 * _balanced(first_test, second_test, threshold, first_below)


def _halves(values: list[float], rng: random.Random) -> tuple[list[float], list[float]]:
    shuffled = rng.sample(values, len(values))
    middle = len(shuffled) // 2
    return sorted(shuffled[:middle]), sorted(shuffled[middle:])


def _balanced(first: list[float], second: list[float], threshold: float, first_below: bool):
    """Mean of the two classes' hit rates when ``first`` is called at or below ``threshold``
    (or above it, when not ``first_below``); both lists sorted."""
    first_below_share = bisect_right(first, threshold) / len(first)
    second_below_share = bisect_right(second, threshold) / len(second)
    if first_below:
        return (first_below_share + 1 - second_below_share) / 2
    return (1 - first_below_share + second_below_share) / 2


def _addresses(instance: Instance, newsletter_id: int, per_state: int) -> dict[str, list[str]]:
    """``per_state`` addresses in each state: existing readers, and never-seen ones."""
    cycle = len(STATUS_CYCLE)
    rarest = min(STATUS_CYCLE.count(status) for status in STATUS_CYCLE)
    count = cycle * -(-per_state // rarest)
    instance.insert_subscriptions(newsletter_id, count, "reader")
    by_state: dict[str, list[str]] = {state: [] for state in STATES}
    for number in range(count):
        by_state[STATUS_CYCLE[number % cycle].value].append(f"reader-{number}@example.net")
    by_state["new"] = [f"new-{number}@example.net" for number in range(per_state)]
    return {state: found[:per_state] for state, found in by_state.items()}


@contextmanager
def _mail_worker(instance: Instance, log_path: Path) -> Iterator[None]:
    """``newsletter worker`` for the instance, running while the signups are timed."""
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [str(BIN / "newsletter"), "worker"],
            env=instance.environment(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _time_signups(base_url: str, order: list[tuple[str, str]]) -> dict[str, list[float]]:
    """POST the form for each address in turn; milliseconds per POST, by state."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", FORM, headers={"User-Agent": USER_AGENT})
    response = connection.getresponse()
    page = response.read()
    cookies = [header.split(";", 1)[0] for header in response.msg.get_all("Set-Cookie", [])]
    token = CSRF_FIELD.search(page).group(1).decode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(cookies),
        "User-Agent": USER_AGENT,
    }
    warmup = [("warmup", f"warmup-{number}@example.net") for number in range(WARMUP_SIGNUPS)]
    times: dict[str, list[float]] = {state: [] for state in STATES}
    for state, address in warmup + order:
        body = urlencode({"email": address, "csrf_token": token}).encode()
        began = time.perf_counter()
        connection.request("POST", f"{FORM}/subscribe", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - began) * 1000
        if response.status != 303:
            raise RuntimeError(f"signup answered {response.status}, not 303")
        if state in times:
            times[state].append(elapsed)
    connection.close()
    return times


def main() -> None:
    """Measure on SQLite, and on PostgreSQL if configured; print a Markdown table."""
    scale = from_environment()
    postgres_url = os.environ.get("NEWSLETTER_BENCH_POSTGRES_URL") or None
    with tempfile.TemporaryDirectory(prefix="newsletter-timing-") as temporary:
        folder = Path(temporary)
        with SmtpSink(folder / "smtp-sink.log") as sink:
            for backend in backends.each(folder, postgres_url):
                version = backend.version()
                rows, notes = measure(backend, scale, sink, folder / backend.name)
                print(f"\n{backend.name} {version}, scale {scale.name}\n")
                print("| figure | unit | value | target |\n|---|---|--:|---|")
                for row in rows:
                    print(f"| {row.label} | {row.unit} | {row.median:.1f} | {row.target or ''} |")
                print(*(f"\n- {note}" for note in notes))


if __name__ == "__main__":
    main()
