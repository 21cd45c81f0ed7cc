"""Geometry for the statistics bar chart, drawn as inline SVG by a template.

Server-side on purpose: no chart library, no script, and the same figures as the table
beside it (hidden counts get no bar, only their "<5"/"x" mark). Colours are SVG
presentation attributes (fill=), which the content security policy allows, and each
has at least 3:1 contrast against white (WCAG 1.4.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise

from .statistics import METRIC_LABELS, METRICS, Statistics

COLOURS = {
    "started": "#1f5fa8",
    "completed": "#2e7d32",
    "broken_off": "#b3261e",
    "ongoing": "#6a4c93",
}
WIDTH = 640
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 16, 36
NICE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    metric: str
    label: Promise
    text: str  # the figure as shown
    text_x: float
    text_y: float
    hidden: bool


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Group:
    x: float  # centre
    year: str


@dataclass(frozen=True)
class Legend:
    metric: str
    label: Promise
    fill: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_x: int
    base_y: float
    bars: list[Bar]
    ticks: list[Tick]
    groups: list[Group]
    legend: list[Legend]


def _step(top: int) -> int:
    for step in NICE_STEPS:
        if top / step <= 5:
            return step
    return NICE_STEPS[-1] * (top // (NICE_STEPS[-1] * 5) + 1)


def bar_chart(stats: Statistics) -> Chart | None:
    """Grouped bars per year for the yearly totals; None when there are no years."""
    if not stats.years:
        return None
    values = [
        y.total.cells[m].value for y in stats.years for m in METRICS if y.total.cells[m].value
    ]
    step = _step(max(values, default=1))
    top = max(step, -(-max(values, default=1) // step) * step)
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    base_y = TOP + plot_h
    group_w = plot_w / len(stats.years)
    bar_w = min(28.0, group_w * 0.8 / len(METRICS))
    bars: list[Bar] = []
    groups: list[Group] = []
    for index, year in enumerate(stats.years):
        centre = LEFT + group_w * (index + 0.5)
        groups.append(Group(round(centre, 1), str(year.year)))
        first_x = centre - bar_w * len(METRICS) / 2
        for offset, metric in enumerate(METRICS):
            cell = year.total.cells[metric]
            value = cell.value or 0
            height = plot_h * value / top
            x = first_x + offset * bar_w
            bars.append(
                Bar(
                    x=round(x + 1, 1),
                    y=round(base_y - height, 1),
                    width=round(bar_w - 2, 1),
                    height=round(height, 1),
                    fill=COLOURS[metric],
                    metric=metric,
                    label=METRIC_LABELS[metric],
                    text=str(cell),
                    text_x=round(x + bar_w / 2, 1),
                    text_y=round(base_y - height - 3, 1),
                    hidden=bool(cell.hidden),
                )
            )
    ticks = [Tick(round(base_y - plot_h * v / top, 1), str(v)) for v in range(0, top + 1, step)]
    legend = [Legend(m, METRIC_LABELS[m], COLOURS[m]) for m in METRICS]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, base_y, bars, ticks, groups, legend)
