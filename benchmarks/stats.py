"""Figures measured several times: medians, ranges, percentiles, targets."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field


def percentile(values: Sequence[float], percent: int) -> float:
    """The ``percent``-th percentile (linear interpolation); 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


@dataclass(frozen=True)
class Target:
    """A goal from issue 5 for a figure's median (or its ratio's): at least or at most."""

    bound: float
    at_least: bool
    on_ratio: bool = False

    def met(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value <= self.bound

    def __str__(self) -> str:
        what = "ratio " if self.on_ratio else ""
        return f"{what}{'≥' if self.at_least else '≤'} {self.bound:g}"


@dataclass
class Row:
    """One line of a results table: a figure's repeats, and its ratio to a baseline."""

    label: str
    unit: str
    values: list[float]
    # Per repeat: the figure divided by its baseline measured in the same repeat.
    ratios: list[float] | None = None
    baseline: str = ""
    target: Target | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    def met(self) -> bool | None:
        """Whether the target is met (None: no target for this figure)."""
        if self.target is None:
            return None
        value = self.ratio if self.target.on_ratio else self.median
        return None if value is None else self.target.met(value)


def seconds_against(
    label: str, values: list[float], base: list[float], baseline: str, target: Target | None = None
) -> Row:
    """A row of seconds, each repeat's divided by the baseline's of the same repeat."""
    ratios = [value / b for value, b in zip(values, base, strict=True)]
    return Row(label, "s", values, ratios=ratios, baseline=baseline, target=target)
