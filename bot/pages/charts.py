"""Charts drawn by the server as inline SVG: no script, no library, nothing from another site, and a page that
reads the same with the chart as without (each chart has a table of its figures beside it).

The strict CSP forbids style attributes, so the look comes from classes in app.css and SVG presentation
attributes; the text is escaped as any other (markupsafe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
MAX_X_LABELS = 8


@dataclass(frozen=True)
class ChartPoint:
    start: date
    value: float | None  # None: too few answers, a gap in the line and the band
    low: float | None
    high: float | None


def _nice_step(span: float) -> float:
    raw = span / 5
    for step in (1, 2, 5, 10, 20, 25, 50):
        if raw <= step:
            return float(step)
    return 100.0


def _y_range(points: Sequence[ChartPoint], floor: float, ceiling: float) -> tuple[float, float, float]:
    known = [v for p in points for v in (p.low, p.high, p.value) if v is not None]
    if not known:
        return floor, ceiling, _nice_step(ceiling - floor)
    low, high = min(known), max(known)
    pad = max((high - low) * 0.1, (ceiling - floor) * 0.02)
    low, high = max(floor, low - pad), min(ceiling, high + pad)
    step = _nice_step(high - low)
    low = max(floor, step * (low // step))
    high = min(ceiling, step * -(-high // step))
    return low, high, step


def _segments(points: Sequence[ChartPoint]) -> list[list[int]]:
    """Runs of consecutive points with a value: the line and the band break at a bucket with too few answers."""
    runs: list[list[int]] = []
    for i, p in enumerate(points):
        if p.value is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _f(x: float) -> str:
    return f"{x:.1f}"


def score_chart(points: Sequence[ChartPoint], *, title: str, description: str, floor: float, ceiling: float,
                unit: str = "") -> Markup:
    """A line of the score per bucket over its 95% interval band, with axes and labels."""
    low, high, step = _y_range(points, floor, ceiling)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(points), 1)

    def x(i: int) -> float:
        return LEFT + plot_w * (i + 0.5) / count

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / ((high - low) or 1)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>']
    tick = low
    while tick <= high + 1e-9:
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y(tick))}" '
                     f'y2="{_f(y(tick))}"/>')
        parts.append(f'<text class="chart-label" x="{LEFT - 8}" y="{_f(y(tick) + 4)}" text-anchor="end">'
                     f'{tick:g}{escape(unit)}</text>')
        tick += step
    every = max(1, -(-len(points) // MAX_X_LABELS))
    for i, p in enumerate(points):
        if i % every == 0:
            parts.append(f'<text class="chart-label" x="{_f(x(i))}" y="{HEIGHT - BOTTOM + 18}" '
                         f'text-anchor="middle">{p.start:%d %b}</text>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
                 f'y2="{HEIGHT - BOTTOM}"/>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
    for run in _segments(points):
        if len(run) > 1:
            upper = [f"{_f(x(i))},{_f(y(points[i].high))}" for i in run]  # type: ignore[arg-type]
            lower = [f"{_f(x(i))},{_f(y(points[i].low))}" for i in reversed(run)]  # type: ignore[arg-type]
            parts.append(f'<polygon class="chart-band" points="{" ".join(upper + lower)}"/>')
            line = " ".join(f"{_f(x(i))},{_f(y(points[i].value))}" for i in run)  # type: ignore[arg-type]
            parts.append(f'<polyline class="chart-line" points="{line}"/>')
        for i in run:
            p = points[i]
            parts.append(f'<line class="chart-whisker" x1="{_f(x(i))}" x2="{_f(x(i))}" '
                         f'y1="{_f(y(p.low))}" y2="{_f(y(p.high))}"/>')  # type: ignore[arg-type]
            parts.append(f'<circle class="chart-point" cx="{_f(x(i))}" cy="{_f(y(p.value))}" r="4"/>')  # type: ignore[arg-type]
    for i, p in enumerate(points):
        if p.value is None:
            parts.append(f'<text class="chart-gap" x="{_f(x(i))}" y="{HEIGHT - BOTTOM - 6}" '
                         f'text-anchor="middle">too few</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


SPARK_W, SPARK_H, SPARK_PAD = 120, 28, 3


@dataclass(frozen=True)
class SparkPoint:
    start: date
    value: int
    partial: bool  # a bucket the range cuts short: drawn dashed and hollow, "(part)" in the text


def sparkline(points: Sequence[SparkPoint], *, label: str, unit: str) -> Markup:
    """A small line of a count per bucket, for a table cell: its title names it and its description lists every
    figure, so a screen reader hears the same trend the line shows."""
    top = max((p.value for p in points), default=0) or 1
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(points) - 1, 1)

    def xy(i: int) -> tuple[str, str]:
        return _f(SPARK_PAD + i * step), _f(SPARK_H - SPARK_PAD - (SPARK_H - 2 * SPARK_PAD) * points[i].value / top)

    listed = ", ".join(f"{p.start:%d %b} {p.value}{' (part)' if p.partial else ''}" for p in points)
    parts = [f'<svg class="spark" viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" height="{SPARK_H}" '
             f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
             f'<desc>{escape(unit)} per bucket: {escape(listed)}</desc>']
    full = [i for i, p in enumerate(points) if not p.partial]
    runs = [[i] for i in full[:1]]
    for i in full[1:]:
        if i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline class="spark-line" points="{" ".join(",".join(xy(i)) for i in run)}"/>')
    for i, p in enumerate(points):
        if p.partial:
            x, y = xy(i)
            for j in (i - 1, i + 1):
                if 0 <= j < len(points):
                    x2, y2 = xy(j)
                    parts.append(f'<line class="spark-part" x1="{x2}" y1="{y2}" x2="{x}" y2="{y}"/>')
            parts.append(f'<circle class="spark-part-point" cx="{x}" cy="{y}" r="2.5"/>')
    last = [i for i, p in enumerate(points) if not p.partial][-1:]
    for i in last:
        x, y = xy(i)
        parts.append(f'<circle class="spark-point" cx="{x}" cy="{y}" r="2.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
