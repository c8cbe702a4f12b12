"""Charts drawn on the server as SVG: geometry here, markup in the templates (escaped).

No chart library and no script: the funnel is a set of bars, the events over time a
set of polylines on a time axis. Each chart comes with its numbers as a table beside
it, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 130
VALUE_WIDTH = 110


@dataclass(frozen=True)
class Bar:
    """One step of the funnel: a bar as long as its share of the widest step."""

    label: str
    value: int
    y: int
    width: float
    note: str  # the step's rate, e.g. "96.9 % of sent"


@dataclass(frozen=True)
class Funnel:
    width: int
    height: int
    bar_x: int
    value_x: float
    bars: list[Bar]


def funnel_chart(steps: Sequence[tuple[str, int, str]], width: int = 640) -> Funnel:
    """Bars for `(label, leads, note)` steps, scaled to the largest."""
    room = width - LABEL_WIDTH - VALUE_WIDTH
    top = max((value for _, value, _ in steps), default=0) or 1
    bars = [
        Bar(label, value, i * (BAR_HEIGHT + BAR_GAP), round(room * value / top, 1), note)
        for i, (label, value, note) in enumerate(steps)
    ]
    height = max(len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, BAR_HEIGHT)
    return Funnel(width, height, LABEL_WIDTH, LABEL_WIDTH + room + 6, bars)


@dataclass(frozen=True)
class Series:
    name: str
    points: str  # SVG polyline points, "x,y x,y ..."
    total: int
    dots: list[tuple[float, float]]  # the same points, marked (one minute alone is a dot)


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class TimeChart:
    width: int
    height: int
    left: int
    bottom: int
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def time_chart(
    rows: Sequence[dict[str, Any]],
    names: Sequence[str],
    width: int = 720,
    height: int = 240,
    left: int = 56,
    bottom: int = 28,
) -> TimeChart:
    """One line per name of `names` over `rows` (each with `minute`, an ISO time, and a
    count per name), on a time axis from the first minute to the last."""
    times = [datetime.fromisoformat(str(r["minute"])).timestamp() for r in rows]
    plot_w, plot_h = width - left - 8, height - bottom - 8
    start, end = (min(times), max(times)) if times else (0.0, 0.0)
    span = end - start
    top = max((int(r[n]) for r in rows for n in names), default=0) or 1

    def x(t: float) -> float:
        return round(left + (plot_w * (t - start) / span if span else plot_w / 2), 1)

    def y(v: int) -> float:
        return round(8 + plot_h - plot_h * v / top, 1)

    series = []
    for name in names:
        dots = [(x(t), y(int(r[name]))) for t, r in zip(times, rows, strict=True)]
        line = " ".join(f"{px},{py}" for px, py in dots)
        series.append(Series(name, line, sum(int(r[name]) for r in rows), dots))
    x_ticks = [Tick(x(t), _clock(t)) for t in _spread(times, 6)]
    y_ticks = [Tick(y(v), f"{v:,}") for v in sorted({0, top // 2, top})]
    return TimeChart(width, height, left, bottom, series, x_ticks, y_ticks)


def _spread(times: Sequence[float], most: int) -> list[float]:
    """At most `most` of `times`, evenly picked, first and last included."""
    if len(times) <= most:
        return list(times)
    step = (len(times) - 1) / (most - 1)
    return [times[round(i * step)] for i in range(most)]


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")
