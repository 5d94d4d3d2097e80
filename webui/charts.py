"""Inline SVG charts built on the server (no script, no inline style: CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from engine.forecast import ForecastPoint

__all__ = ["activity_chart", "forecast_chart"]

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def _x(day: int, last_day: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (day / last_day if last_day else 0)


def _y(score: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score)


def forecast_chart(
    points: Sequence[ForecastPoint], test_code: str, test_name: str, cut_score: float
) -> Markup:
    """Predicted score by day for one test: with study at the current pace, if stopping now,
    and the assumed cut score. Screen readers get the numbers in ``<desc>``."""
    if not points:
        return Markup("")
    last = points[-1].day
    study = [(p.day, p.with_study[test_code]) for p in points]
    stopped = [(p.day, p.if_stopped[test_code]) for p in points]
    start, end, end_stopped = study[0][1], study[-1][1], stopped[-1][1]
    title = f"{test_code} predicted score by day"
    description = (
        f"Today {start:.0%}. In {last} days: {end:.0%} if you keep your current pace, "
        f"{end_stopped:.0%} if you stop now. Assumed cut score {cut_score:.0%}."
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{test_code}-title chart-{test_code}-desc">',
        f'<title id="chart-{test_code}-title">{escape(title)} ({escape(test_name)})</title>',
        f'<desc id="chart-{test_code}-desc">{escape(description)}</desc>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = _y(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:.0%}</text>'
        )
    for day in sorted({0, last // 2, last}):
        x = _x(day, last)
        label = "today" if day == 0 else f"day {day}"
        anchor = "start" if day == 0 else "end" if day == last else "middle"
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{anchor}">'
            f"{label}</text>"
        )
    cut_y = _y(cut_score)
    parts.append(
        # Its value is in the legend: a label here would sit on the lines' end labels.
        f'<line class="cut" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{cut_y:.1f}" y2="{cut_y:.1f}"/>'
    )
    for series, css in ((stopped, "line-stopped"), (study, "line-study")):
        path = " ".join(f"{_x(day, last):.1f},{_y(score):.1f}" for day, score in series)
        parts.append(f'<polyline class="{css}" points="{path}"/>')
    parts.append(
        f'<circle class="dot-study" cx="{_x(last, last):.1f}" cy="{_y(end):.1f}" r="4"/>'
        f'<text class="end-label" x="{_x(last, last) - 6:.1f}" y="{_y(end) - 8:.1f}" '
        f'text-anchor="end">{end:.0%}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def activity_chart(days: Sequence[tuple[date, int]]) -> Markup:
    """Items answered per day by a class, as bars, with the numbers in ``<desc>``."""
    if not days:
        return Markup("")
    width, height, left, bottom, top = 640, 180, 40, 30, 12
    peak = max((count for _, count in days), default=0) or 1
    step = (width - left - 8) / len(days)
    total = sum(count for _, count in days)
    busiest = max(days, key=lambda day: day[1])
    description = (
        f"{total} items answered over {len(days)} days from {days[0][0]:%b %d} to "
        f"{days[-1][0]:%b %d}; busiest day {busiest[0]:%b %d} with {busiest[1]}."
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="activity-title activity-desc">',
        '<title id="activity-title">Items answered per day</title>',
        f'<desc id="activity-desc">{escape(description)}</desc>',
        f'<text class="axis" x="{left - 6}" y="{top + 10}" text-anchor="end">{peak}</text>',
        f'<text class="axis" x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
    ]
    for index, (day, count) in enumerate(days):
        bar = (height - top - bottom) * count / peak
        x = left + index * step
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{height - bottom - bar:.1f}" '
            f'width="{max(step - 2, 1):.1f}" height="{bar:.1f}">'
            f"<title>{day:%b %d}: {count}</title></rect>"
        )
    for index in (0, len(days) - 1):
        anchor = "start" if index == 0 else "end"
        x = left + index * step + (0 if index == 0 else step)
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">'
            f"{days[index][0]:%b %d}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
