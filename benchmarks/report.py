"""``benchmarks/RESULTS.md``: this run's tables, and the hand-written profile notes kept.

Everything above the marker line is rewritten by each run; everything below it (the
profile notes, written by a person after looking at a profile) is carried over as it is.
"""

import datetime
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from benchmarks.stats import Row

MARKER = "<!-- profile notes below are kept between runs -->"
NEW_NOTES = "\n## Profile notes\n\n_None yet: write what a profile showed here._\n"


@dataclass
class Section:
    """One backend's results."""

    backend: str
    version: str
    worker_model: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write(
    path: Path,
    *,
    facts: dict[str, str],
    sections: list[Section],
    command: str,
    scale: str,
    seconds: float,
) -> None:
    """Rewrite the file, keeping what follows the marker."""
    kept = NEW_NOTES
    if path.exists():
        previous = path.read_text(encoding="utf-8")
        if MARKER in previous:
            kept = previous.split(MARKER, 1)[1]
    head = render(facts, sections, command, scale, seconds)
    path.write_text(f"{head}\n{MARKER}{kept}", encoding="utf-8")


def render(
    facts: dict[str, str], sections: list[Section], command: str, scale: str, seconds: float
) -> str:
    """The generated part of the report, as Markdown."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Run on {now}, scale **{scale}**, in {seconds / 60:.1f} minutes, with:",
        "",
        f"    {command}",
        "",
        "Each figure was measured several times: the median, then the range (min–max).",
        "A ratio divides a figure by its baseline measured in the same repeat, minutes apart",
        "at most, on the same machine (which other jobs share: absolute figures are noisy,",
        "ratios much less). Targets are the goals of issue 5, not test thresholds.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in facts.items()),
        "",
    ]
    for section in sections:
        lines += [
            f"## {section.backend} {section.version}",
            "",
            f"Gunicorn worker model: {section.worker_model}.",
            "",
            "| figure | unit | median | min–max | ratio to baseline (min–max) | target | met? |",
            "|---|---|--:|--:|---|---|---|",
            *(_row(row) for row in section.rows),
            "",
            *(f"- {note}" for note in section.notes),
            "",
        ]
    return "\n".join(lines)


def _row(row: Row) -> str:
    spread = f"{_number(min(row.values))}–{_number(max(row.values))}"
    ratio = ""
    if row.ratios:
        ratio = f"{row.ratio:.2f} ({min(row.ratios):.2f}–{max(row.ratios):.2f}) of {row.baseline}"
    elif row.baseline:
        ratio = row.baseline
    met = {None: "", True: "yes", False: "**no**"}[row.met()]
    target = str(row.target) if row.target else ""
    cells = [row.label, row.unit, _number(row.median), spread, ratio, target, met]
    return "| " + " | ".join(cells) + " |"


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
