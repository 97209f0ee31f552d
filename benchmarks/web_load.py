"""Signup, confirm and scale under load: the product under gunicorn beside bare Flask.

Three servers run side by side with the same gunicorn settings: bare Flask, the product
on an empty database, and the product on a database whose newsletter already holds the
scale's existing subscriptions. Each repeat runs, at each concurrency, the bare baseline,
then signups on both databases, then signups to three newsletters at once on the empty
one (its ratio is to the single signup), then confirmations, so that every ratio compares
runs made a few seconds apart.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from benchmarks import progress
from benchmarks.instance import Instance
from benchmarks.loadgen import LoadResult
from benchmarks.loadgen import drive
from benchmarks.scale import Scale
from benchmarks.servers import Gunicorn
from benchmarks.servers import WorkerModel
from benchmarks.stats import Row
from benchmarks.stats import Target
from newsletter.link_tokens import make_confirm_token

SLUG = "bench"
FORM = f"/newsletters/{SLUG}"
# The empty database's two more newsletters, for the form for several.
OTHER_SLUGS = ("bench-briefing", "bench-digest")
SEVERAL_FORM = f"/subscribe?newsletters={','.join((SLUG, *OTHER_SLUGS))}"
PRODUCT = "newsletter:create_app()"
BARE = "benchmarks.bare:app"
BARE_LABEL = "bare Flask"
SIGNUP_RATIO = Target(0.20, at_least=True, on_ratio=True)
CPU_PER_SIGNUP = Target(4.0, at_least=False)
SCALE_RATIO = Target(0.9, at_least=True, on_ratio=True)
SEVERAL_RATIO = Target(0.8, at_least=True, on_ratio=True)
# Sizes the confirm pools when no trial measured bare Flask: ten times the fastest
# confirm rate seen on these machines (~300/s), so no run can use its pool up.
CONFIRM_RATE_BOUND = 3_000.0
# Errors above this share of completed operations make the run fail: the harness or the
# product is broken, and the figures would mean nothing.
TOLERATED_ERRORS = 0.01


class Fleet:
    """The three servers of one worker model: bare Flask, product on each database."""

    def __init__(self, model: WorkerModel, empty: Instance, scaled: Instance, logs: Path) -> None:
        self.model = model
        environment = empty.environment()
        self.bare = Gunicorn(BARE, model, environment, logs / "bare.log", ready_path="/")
        self.product = Gunicorn(PRODUCT, model, environment, logs / "product.log")
        self.scaled = Gunicorn(PRODUCT, model, scaled.environment(), logs / "scaled.log")

    @property
    def servers(self) -> tuple[Gunicorn, ...]:
        return (self.bare, self.product, self.scaled)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@dataclass
class Trial:
    """The worker models tried, and the one kept."""

    chosen: WorkerModel
    rows: list[Row]
    # The fastest bare rate of the trial (without one, CONFIRM_RATE_BOUND): no confirm run
    # goes faster, so it sizes the confirm pools.
    bare_rate: float


@dataclass
class LoadRuns:
    """Every load run of the main phase, by (kind, concurrency)."""

    runs: dict[tuple[str, int], list[LoadResult]] = field(default_factory=lambda: defaultdict(list))

    def rates(self, kind: str, concurrency: int) -> list[float]:
        return [run.rate for run in self.runs[kind, concurrency]]

    def ratios(self, kind: str, base: str, concurrency: int) -> list[float]:
        """Per repeat, ``kind``'s rate over ``base``'s rate."""
        pairs = zip(self.rates(kind, concurrency), self.rates(base, concurrency), strict=True)
        return [rate / base_rate for rate, base_rate in pairs]


def trial(fleets: list[Fleet], scale: Scale) -> Trial:
    """Try each worker model on signups at the highest concurrency; keep the faster.

    Without a trial (one fleet, or no ``trial_duration``) the first fleet's model is kept.
    """
    if len(fleets) == 1 or scale.trial_duration is None:
        return Trial(fleets[0].model, [], CONFIRM_RATE_BOUND)
    concurrency = max(scale.concurrencies)
    timing = (concurrency, scale.warmup, scale.trial_duration)
    rows: list[Row] = []
    signup_rates: dict[str, float] = {}
    bare_rates: list[float] = []
    for fleet in fleets:
        model = fleet.model
        baseline = drive(fleet.bare, "get", "/", *timing)
        signups = drive(fleet.product, "signup", FORM, *timing, prefix=f"trial-{model.name}")
        _check(baseline)
        _check(signups)
        signup_rates[model.name] = signups.rate
        bare_rates.append(baseline.rate)
        rows.append(
            Row(
                f"Worker-model trial: {model.description}; signups/s at c={concurrency}",
                "signups/s",
                [signups.rate],
                ratios=[signups.rate / baseline.rate],
                baseline=f"{BARE_LABEL} at {baseline.rate:,.0f} req/s",
            )
        )
        progress.say(
            f"trial {model.name}: bare {baseline.rate:,.0f}/s, signup {signups.rate:,.0f}/s"
        )
    chosen = max(fleets, key=lambda fleet: signup_rates[fleet.model.name]).model
    return Trial(chosen, rows, max(bare_rates))


def confirm_pools(empty: Instance, scale: Scale, bare_rate: float) -> list[list[str]]:
    """Pending subscriptions for every confirm run, and their confirm links' tokens.

    A run cannot confirm faster than bare Flask answers, so each pool holds what the
    fastest bare rate of the trial (or the bound used without a trial) would get through
    in a run, with a fifth more.
    """
    per_run = int(bare_rate * (scale.warmup + scale.duration + 1) * 1.2) + 100
    runs = scale.repeats * len(scale.concurrencies)
    newsletter_id = empty.newsletter_id(SLUG)
    public_ids = empty.insert_subscriptions(newsletter_id, per_run * runs, "pending", pending=True)
    tokens = [make_confirm_token(empty.secret_key, public_id, 1) for public_id in public_ids]
    return [tokens[run * per_run : (run + 1) * per_run] for run in range(runs)]


def measure(fleet: Fleet, scale: Scale, pools: list[list[str]]) -> tuple[list[Row], list[str]]:
    """The main phase: bare, signup (empty and scaled database) and confirm, repeated."""
    loads = LoadRuns()
    pool = iter(pools)
    for repeat in range(scale.repeats):
        for concurrency in scale.concurrencies:
            timing = (concurrency, scale.warmup, scale.duration)
            prefix = f"r{repeat}c{concurrency}"
            runs = {
                "bare": drive(fleet.bare, "get", "/", *timing),
                "signup": drive(fleet.product, "signup", FORM, *timing, prefix=prefix),
                "scale": drive(fleet.scaled, "signup", FORM, *timing, prefix=prefix),
                "several": drive(
                    fleet.product, "several", SEVERAL_FORM, *timing, prefix=f"{prefix}-several"
                ),
                "confirm": drive(fleet.product, "confirm", "", *timing, tokens=next(pool)),
            }
            for kind, run in runs.items():
                _check(run)
                loads.runs[kind, concurrency].append(run)
            progress.say(
                f"repeat {repeat + 1}, c={concurrency}: "
                + ", ".join(f"{kind} {run.rate:,.0f}/s" for kind, run in runs.items())
            )
    rows = [row for concurrency in scale.concurrencies for row in _rows(loads, concurrency)]
    return rows, _notes(loads, scale)


def _rows(loads: LoadRuns, concurrency: int) -> list[Row]:
    """The table's lines for one concurrency."""
    c = f"c={concurrency}"
    runs = loads.runs
    rows = [Row(f"Bare Flask GET, {c}", "req/s", loads.rates("bare", concurrency))]
    for kind, what, unit in (
        ("signup", "Signup", "signups/s"),
        ("confirm", "Confirm", "confirms/s"),
    ):
        results = runs[kind, concurrency]
        is_signup = kind == "signup"
        rows += [
            Row(
                f"{what} (GET form + POST), {c}" if is_signup else f"{what} (POST), {c}",
                unit,
                loads.rates(kind, concurrency),
                ratios=loads.ratios(kind, "bare", concurrency),
                baseline=BARE_LABEL,
                target=SIGNUP_RATIO if is_signup else None,
            ),
            Row(f"{what} POST p50, {c}", "ms", [run.p50_ms for run in results]),
            Row(f"{what} POST p95, {c}", "ms", [run.p95_ms for run in results]),
            Row(f"{what} POST p99, {c}", "ms", [run.p99_ms for run in results]),
            Row(
                f"{what}: server CPU per {kind}, {c}",
                "ms",
                [run.server_cpu_ms_per_op for run in results],
                target=CPU_PER_SIGNUP if is_signup else None,
            ),
        ]
    scaled = runs["scale", concurrency]
    rows += [
        Row(
            f"Scale: signup with the existing rows in the newsletter, {c}",
            "signups/s",
            loads.rates("scale", concurrency),
            ratios=loads.ratios("scale", "signup", concurrency),
            baseline="signup, empty database",
            target=SCALE_RATIO,
        ),
        Row(f"Scale: signup POST p99, {c}", "ms", [run.p99_ms for run in scaled]),
        Row(
            f"Signup to 3 newsletters (GET form + POST, one form), {c}",
            "signups/s",
            loads.rates("several", concurrency),
            ratios=loads.ratios("several", "signup", concurrency),
            baseline="signup to one newsletter",
            target=SEVERAL_RATIO,
        ),
        Row(
            f"Signup to 3 newsletters POST p99, {c}",
            "ms",
            [run.p99_ms for run in runs["several", concurrency]],
        ),
    ]
    return rows


def _notes(loads: LoadRuns, scale: Scale) -> list[str]:
    """What the load generator cost, and any errors seen."""
    notes = []
    for concurrency in scale.concurrencies:
        for kind in ("bare", "signup"):
            runs = loads.runs[kind, concurrency]
            share = statistics.median(run.generator_cpu_share for run in runs)
            per_request = statistics.median(run.generator_cpu_ms_per_request for run in runs)
            notes.append(
                f"Load generator during {kind} at c={concurrency}: {share:.2f} cores "
                f"({per_request:.2f} ms CPU per HTTP request)."
            )
    for (kind, concurrency), runs in sorted(loads.runs.items()):
        errors = sum(sum(run.errors.values()) for run in runs)
        if errors:
            notes.append(f"{kind} at c={concurrency}: {errors} failed operation(s).")
    return notes


def _check(run: LoadResult) -> None:
    """Fail loudly when a run completed nothing or failed too often."""
    failed = sum(run.errors.values())
    if run.completed == 0 or failed > TOLERATED_ERRORS * run.completed:
        raise RuntimeError(
            f"{run.kind} at c={run.concurrency}: {run.completed} completed, {failed} failed: "
            f"{run.errors}"
        )
