"""A bar chart of signups and confirmations per day, as inline SVG drawn on the server.

No script and no external asset: the geometry is computed here and written out by the
``admin/_chart.html`` template (autoescaped). The SVG is one labelled image for screen
readers (``<title>`` and ``<desc>``); the numbers themselves are in a table beside it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template
from markupsafe import Markup

from newsletter.list_management import DayActivity

WIDTH = 800
HEIGHT = 200
LEFT = 40  # room for the y-axis labels
RIGHT = 8
TOP = 12
BOTTOM = 26  # room for the x-axis labels
SERIES = ("signups", "confirmations")


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart, with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    series: str
    label: str


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis (and, on the y axis, a grid line)."""

    position: float
    label: str
    anchor: str = "end"  # SVG text-anchor: the y labels end left of the axis


def render(activity: Sequence[DayActivity], chart_id: str, title: str) -> Markup:
    """The SVG markup of the chart for ``activity`` (days oldest first)."""
    top = nice_ceiling(max((max(d.signups, d.confirmations) for d in activity), default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(activity), 1)
    bar_width = slot * 0.4

    def y_of(value: int) -> float:
        """The SVG y coordinate of a value (SVG's y grows downwards)."""
        return round(TOP + plot_height * (1 - value / top), 2)

    bars = []
    for index, day in enumerate(activity):
        for offset, series in enumerate(SERIES):
            value = getattr(day, series)
            x = LEFT + index * slot + slot * 0.1 + offset * bar_width
            height = round(HEIGHT - BOTTOM - y_of(value), 2)
            label = f"{short_date(day)}: {value} {series}"
            bars.append(Bar(round(x, 2), y_of(value), round(bar_width, 2), height, series, label))
    y_ticks = [Tick(y_of(value), str(value)) for value in sorted({0, top // 2, top})]
    x_ticks = []
    if activity:
        # First and last labels flush with the plot's edges, so that none is cut off.
        middle = len(activity) // 2
        x_ticks = [
            Tick(LEFT, short_date(activity[0]), "start"),
            Tick(round(LEFT + (middle + 0.5) * slot, 2), short_date(activity[middle]), "middle"),
            Tick(WIDTH - RIGHT, short_date(activity[-1]), "end"),
        ]
    # The template is autoescaped: every value in it is escaped already (bandit B704).
    return Markup(  # noqa: S704 # nosec B704
        render_template(
            "admin/_chart.html",
            chart_id=chart_id,
            title=title,
            description=describe(activity),
            bars=bars,
            y_ticks=y_ticks,
            x_ticks=x_ticks,
            width=WIDTH,
            height=HEIGHT,
            left=LEFT,
            plot_right=WIDTH - RIGHT,
            baseline=HEIGHT - BOTTOM,
        )
    )


def describe(activity: Sequence[DayActivity]) -> str:
    """A sentence saying what the chart shows, for people who cannot see it."""
    if not activity:
        return "No days to show."
    signups = sum(day.signups for day in activity)
    confirmations = sum(day.confirmations for day in activity)
    busiest = max(activity, key=lambda day: day.signups)
    sentence = (
        f"From {short_date(activity[0])} to {short_date(activity[-1])} {activity[-1].day.year}: "
        f"{plural(signups, 'signup')} and {plural(confirmations, 'confirmation')}."
    )
    if busiest.signups:
        sentence += f" Most signups on {short_date(busiest)}: {busiest.signups}."
    return sentence


def plural(count: int, noun: str) -> str:
    """``1 signup``, ``2 signups``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def short_date(day: DayActivity) -> str:
    """``7 May``: enough on an axis that spans a month."""
    return f"{day.day.day} {day.day:%b}"


def nice_ceiling(value: int) -> int:
    """The top of the y axis: a round, even number (its half is a whole tick) ≥ value."""
    if value <= 2:
        return 2
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 5, 6, 8, 10):
        if step * magnitude >= value and step * magnitude % 2 == 0:
            return step * magnitude
    return 10 * magnitude
