"""The monitoring chart, drawn on the server as SVG: craving score and days of use over time, the urine drug
screens, and the care plans (encounters) marked as events.

Colour is never the only signal: craving is a solid line with round points, use days a dashed line with square
points, screens are "+" / "-" / "n/d" in words, and each event line is numbered and named in the legend. The
same numbers are in a table beside the chart (for screen readers and for print). Only coordinates and fixed
words are computed here; the template writes the SVG, escaping any text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 760, 350
LEFT, RIGHT = 56, 16
PANEL_TOP, PANEL_HEIGHT, PANEL_GAP = 24, 100, 36
SCREEN_Y = PANEL_TOP + 2 * (PANEL_HEIGHT + PANEL_GAP) + 14
XOf = Callable[[date], float]
SCREEN_WORDS = {"positive": "+", "negative": "-", "not_done": "n/d"}


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    day: date


@dataclass(frozen=True)
class Panel:
    title: str
    top: float
    maximum: int
    ticks: tuple[tuple[float, int], ...]  # (y, value)
    points: tuple[Point, ...]
    path: str  # SVG path through the points (empty with fewer than two)


@dataclass(frozen=True)
class Mark:
    x: float
    number: int
    day: date
    label: str


@dataclass(frozen=True)
class Screen:
    x: float
    text: str
    result: str
    day: date


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right_edge: int
    panels: tuple[Panel, Panel]
    screens: tuple[Screen, ...]
    screen_y: float
    events: tuple[Mark, ...]
    axis: tuple[tuple[float, str], ...]  # (x, date label)
    empty: bool


@dataclass(frozen=True)
class Reading:
    day: date
    craving_score: int | None
    use_days_past_7: int | None
    urine_drug_screen: str | None


@dataclass(frozen=True)
class Event:
    day: date
    label: str


def build_chart(readings: Sequence[Reading], events: Sequence[Event]) -> Chart:
    days = [r.day for r in readings] + [e.day for e in events]
    first = min(days) if days else date(2000, 1, 1)
    last = max(days) if days else first
    if last == first:
        first, last = first - timedelta(days=1), last + timedelta(days=1)
    span = (last - first).days

    def x_of(day: date) -> float:
        return round(LEFT + (day - first).days / span * (WIDTH - LEFT - RIGHT), 1)

    panels = (
        _panel("Craving score (0-10)", PANEL_TOP, 10, [(r.day, r.craving_score) for r in readings], x_of),
        _panel(
            "Days of use in the past 7",
            PANEL_TOP + PANEL_HEIGHT + PANEL_GAP,
            7,
            [(r.day, r.use_days_past_7) for r in readings],
            x_of,
        ),
    )
    screens = tuple(
        Screen(x_of(r.day), SCREEN_WORDS.get(r.urine_drug_screen, "?"), r.urine_drug_screen, r.day)
        for r in readings
        if r.urine_drug_screen is not None
    )
    marks = tuple(Mark(x_of(e.day), n, e.day, e.label) for n, e in enumerate(events, start=1))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        panels=panels,
        screens=screens,
        screen_y=SCREEN_Y,
        events=marks,
        axis=_axis(first, last, x_of),
        empty=not readings and not events,
    )


def _panel(title: str, top: float, maximum: int, values: Sequence[tuple[date, int | None]], x_of: XOf) -> Panel:
    points = tuple(
        Point(x_of(day), round(top + PANEL_HEIGHT - value / maximum * PANEL_HEIGHT, 1), value, day)
        for day, value in values
        if value is not None
    )
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points)) if len(points) > 1 else ""
    ticks = tuple((round(top + PANEL_HEIGHT - v / maximum * PANEL_HEIGHT, 1), v) for v in (0, maximum // 2, maximum))
    return Panel(title, top, maximum, ticks, points, path)


def _axis(first: date, last: date, x_of: XOf) -> tuple[tuple[float, str], ...]:
    span = (last - first).days
    count = min(5, span + 1)
    days = sorted({first + timedelta(days=round(i * span / max(count - 1, 1))) for i in range(count)})
    return tuple((x_of(day), day.isoformat()) for day in days)
