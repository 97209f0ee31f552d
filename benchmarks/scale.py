"""How big a run is: full scale by default, ``BENCH_SCALE=small`` for a quick smoke run."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Sizes and durations of one run."""

    name: str
    # Subscriptions already in the newsletter for the scale and export measurements.
    existing_rows: int
    # Queued confirmations the mail worker delivers.
    mails: int
    # Every figure is measured this many times; the report gives median and min–max.
    repeats: int
    # Seconds of load before the measured window (connections, caches, JIT-less warm-up).
    warmup: float
    # Seconds of the measured window of each load run.
    duration: float
    # Seconds of each load run of the worker-model trial; None: no trial, the first model
    # of ``servers.WORKER_MODELS`` (gthread, the one production should use) serves.
    trial_duration: float | None
    # Times the import of ``existing_rows`` is measured: at full scale one import (and its
    # baseline) is minutes of CPU, so once.
    import_repeats: int = 3
    concurrencies: tuple[int, ...] = (8, 32)


FULL = Scale(
    "full",
    existing_rows=1_000_000,
    mails=10_000,
    repeats=3,
    warmup=1.0,
    duration=3.0,
    trial_duration=2.0,
    import_repeats=1,
)
# Within two minutes on both backends: no worker-model trial (three gunicorns per backend
# instead of six), shorter load runs; still every figure three times.
SMALL = Scale(
    "small",
    existing_rows=20_000,
    mails=1_000,
    repeats=3,
    warmup=0.15,
    duration=0.6,
    trial_duration=None,
)
SCALES = {scale.name: scale for scale in (FULL, SMALL)}


def from_environment() -> Scale:
    """The scale ``BENCH_SCALE`` names (``full`` or ``small``); full when unset."""
    name = os.environ.get("BENCH_SCALE", "").strip().lower() or FULL.name
    if name not in SCALES:
        raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {name!r}")
    return SCALES[name]
